import { describe, expect, it } from "vitest";
import { computeAlerts, isStale, STALE_AFTER_MS } from "./alerts";
import { errorsFor, fieldErrors, normalisePath, unplacedErrors } from "./fieldErrors";
import { formatBytes, formatDuration, formatRelative, toDate } from "./format";
import { groupGraph, layeredPositions, nodeLabel, statusChanges } from "./graph";
import { groupBody, InputsError, parseDependsOn, parseInputs, sampleRows } from "./groupForm";
import { currentCursor, firstPage, nextPage, pageIndex, previousPage, splitPage } from "./paging";
import { level, resourceRows } from "./resources";
import { boundedCount, formatCount, formatRate, headerStats, startOfDay, successRate } from "./stats";
import { filtersToSearch, parseFilters, taskQueryEqualities } from "./taskFilters";
import { effectiveTheme } from "./theme";
import { timeline } from "./timeline";
import { parseInitJson, ConfigError } from "../config";
import type { Task, TaskEvent, UserDoc } from "../types";

const task = (id: string, fields: Partial<Task> = {}): Task => ({
  id,
  userId: "u1",
  title: `Task ${id}`,
  description: "a description",
  status: "pending",
  priority: "medium",
  ...fields,
});

describe("header stats", () => {
  it("says N+ when a listener stopped at its limit", () => {
    expect(formatCount(boundedCount(100, 100))).toBe("100+");
    expect(formatCount(boundedCount(7, 100))).toBe("7");
    expect(formatCount(null)).toBe("–");
  });
  it("computes today's success rate only once something finished", () => {
    expect(successRate(0, 0)).toBeNull();
    expect(successRate(null, 3)).toBeNull();
    expect(successRate(3, 1)).toBe(0.75);
    expect(formatRate(0.75)).toBe("75.0%");
    expect(formatRate(1)).toBe("100%");
    const stats = headerStats({ runningSize: 100, runningLimit: 100, queued: 250, completedToday: 9, failedToday: 1 });
    expect(stats.running.capped).toBe(true);
    expect(formatCount(stats.queued)).toBe("250");
    expect(stats.successRate).toBe(0.9);
  });
  it("starts the day at local midnight", () => {
    const day = startOfDay(new Date(2026, 4, 3, 17, 45));
    expect([day.getHours(), day.getMinutes(), day.getDate()]).toEqual([0, 0, 3]);
  });
});

describe("resources and alerts", () => {
  const now = new Date("2026-05-03T12:00:00Z");
  const user: UserDoc = {
    uid: "u1",
    quotas: {
      apiCalls: { limit: 1000, used: 0, reset: "2026-05-04T00:00:00Z" },
      taskMinutes: { limit: 100, used: 85, reset: "2026-06-01T00:00:00Z" },
      storageBytes: { limit: 1000, used: 1000 },
    },
  };
  it("rates usage ok / warning (80%) / critical (100%)", () => {
    expect(level(0.5)).toBe("ok");
    expect(level(0.8)).toBe("warning");
    expect(level(1.2)).toBe("critical");
    expect(level(null)).toBe("ok");
  });
  it("takes API calls from the usage report and the rest from the user document", () => {
    const report = {
      plan: "free",
      usage: {
        apiCalls: { used: 950, limit: 1000, remaining: 50, reset: "2026-05-04T00:00:00Z", burstLimit: 60 },
        taskMinutes: { used: 85, limit: 100, remaining: 15, reset: "2026-06-01T00:00:00Z" },
        storageBytes: { used: 1000, limit: 1000, remaining: 0 },
      },
    };
    const rows = resourceRows(user, report, 1, 2, now);
    expect(rows.map((r) => [r.key, r.used, r.limit, r.level])).toEqual([
      ["apiCalls", 950, 1000, "warning"],
      ["taskMinutes", 85, 100, "warning"],
      ["storageBytes", 1000, 1000, "critical"],
      ["concurrency", 1, 2, "ok"],
    ]);
    expect(resourceRows(user, null, 0, 2, now)[0]!.used).toBeNull();
    // A task-minute period that has ended counts from zero until the reset job runs.
    const later = new Date("2026-06-02T00:00:00Z");
    expect(resourceRows(user, null, 0, 2, later)[1]!.used).toBe(0);
    const alerts = computeAlerts({ failedTasks: [], runningTasks: [], resources: rows, now: now.getTime() });
    expect(alerts.map((a) => [a.id, a.severity])).toEqual([
      ["quota:apiCalls", "warning"],
      ["quota:taskMinutes", "warning"],
      ["quota:storageBytes", "error"],
    ]);
  });
  it("flags failed tasks and runs without a recent heartbeat", () => {
    const now = Date.parse("2026-05-03T12:00:00Z");
    const fresh = task("a", { status: "in_progress", heartbeatAt: new Date(now - 10_000) });
    const stale = task("b", { status: "in_progress", heartbeatAt: new Date(now - STALE_AFTER_MS - 1) });
    const noBeat = task("c", { status: "in_progress", startedAt: "2026-05-03T11:00:00Z" });
    expect(isStale(fresh, now)).toBe(false);
    expect(isStale(stale, now)).toBe(true);
    expect(isStale(noBeat, now)).toBe(true);
    expect(isStale(task("d", { status: "queued", heartbeatAt: new Date(0) }), now)).toBe(false);
    const alerts = computeAlerts({
      failedTasks: [task("f", { status: "failed", error: "boom" })],
      runningTasks: [fresh, stale],
      resources: [],
      now,
    });
    expect(alerts.map((a) => a.id)).toEqual(["failed:f", "stale:b"]);
    expect(alerts[0]!.message).toContain("boom");
  });
});

describe("task filters", () => {
  it("round-trips through the URL and drops unknown values", () => {
    const filters = parseFilters("?status=failed&priority=high&agent=coder&project=p1&x=1");
    expect(filters).toEqual({ status: "failed", priority: "high", agentId: "coder", projectId: "p1" });
    expect(parseFilters(filtersToSearch(filters))).toEqual(filters);
    expect(parseFilters("?status=exploded&priority=urgent&agent=a/b")).toEqual({});
    expect(filtersToSearch({})).toBe("");
  });
  it("lists by owner, or by project for a project filter (what the rules allow)", () => {
    expect(taskQueryEqualities("u1", {})).toEqual([["userId", "u1"]]);
    expect(taskQueryEqualities("u1", { status: "queued", agentId: "coder" })).toEqual([
      ["userId", "u1"],
      ["status", "queued"],
      ["agentId", "coder"],
    ]);
    expect(taskQueryEqualities("u1", { projectId: "p", priority: "low" })).toEqual([
      ["projectId", "p"],
      ["priority", "low"],
    ]);
  });
});

describe("cursor paging", () => {
  it("keeps the cursor of every page so that previous is exact", () => {
    let state = firstPage<string>();
    expect(pageIndex(state)).toBe(0);
    expect(currentCursor(state)).toBeUndefined();
    state = nextPage(state, "doc25");
    state = nextPage(state, "doc50");
    expect(pageIndex(state)).toBe(2);
    expect(currentCursor(state)).toBe("doc50");
    state = previousPage(state);
    expect(currentCursor(state)).toBe("doc25");
    expect(previousPage(previousPage(previousPage(state)))).toEqual(firstPage());
  });
  it("uses the extra document only to know a next page exists", () => {
    expect(splitPage([1, 2, 3], 2)).toEqual({ items: [1, 2], hasMore: true });
    expect(splitPage([1, 2], 2)).toEqual({ items: [1, 2], hasMore: false });
  });
});

describe("API errors by field", () => {
  it("places request-validation details on their fields", () => {
    const errors = fieldErrors({
      code: "validation_failed",
      message: "Validation failed",
      details: [
        { field: "title", message: "String should have at least 3 characters", type: "string_too_short" },
        { field: "tasks.1.description", message: "too short", type: "x" },
      ],
    });
    expect(errors.title).toEqual(["String should have at least 3 characters"]);
    expect(errorsFor(errors, "tasks.1")).toEqual(["too short"]);
    expect(errorsFor(errors, "tasks.10")).toEqual([]);
  });
  it("places task-graph details (bracketed paths, field lists) and keeps the rest visible", () => {
    const unknown = fieldErrors({
      code: "validation_failed",
      message: "task 'b' depends on unknown ref 'zz'",
      details: { unknown: [{ ref: "b", dependency: "zz", field: "tasks[1].dependencies[0]" }] },
    });
    expect(errorsFor(unknown, "tasks.1.dependencies")).toEqual(["task 'b' depends on unknown ref 'zz'"]);
    const duplicates = fieldErrors({
      code: "validation_failed",
      message: "duplicate task ref: 'a'",
      details: { duplicates: [{ ref: "a", fields: ["tasks[0].ref", "tasks[2].ref"] }] },
    });
    expect(Object.keys(duplicates).sort()).toEqual(["tasks.0.ref", "tasks.2.ref"]);
    expect(normalisePath("body.tasks[3].title")).toBe("tasks.3.title");
    expect(unplacedErrors({ cursor: ["bad"], title: ["x"] }, ["title"])).toEqual(["cursor: bad"]);
    expect(fieldErrors({ code: "conflict", message: "cycle", details: { cycle: ["a", "b", "a"] } })).toEqual({});
  });
});

describe("task graph", () => {
  const members = [
    { ref: "a", id: "t1" },
    { ref: "b", id: "t2" },
    { ref: "c", id: "t3" },
  ];
  const tasks = [
    task("t3", { dependencies: ["t1", "t2"], status: "pending" }),
    task("t1", { status: "completed" }),
    task("t2", { dependencies: ["t1", "outside"], status: "in_progress" }),
  ];
  it("orders nodes as the group lists them and draws dependency edges within the group", () => {
    const model = groupGraph(tasks, members);
    expect(model.nodes.map((n) => [n.id, n.status])).toEqual([
      ["t1", "completed"],
      ["t2", "in_progress"],
      ["t3", "pending"],
    ]);
    expect(model.nodes[0]!.label).toBe("a: Task t1");
    expect(model.edges.map((e) => e.id)).toEqual(["t1->t2", "t1->t3", "t2->t3"]);
  });
  it("restyles only the nodes whose status changed", () => {
    const shown = new Map([
      ["t1", "completed"],
      ["t2", "queued"],
      ["t3", "pending"],
    ] as const);
    expect(statusChanges(new Map(shown), tasks)).toEqual([{ id: "t2", status: "in_progress" }]);
  });
  it("lays large groups out in columns by depth, in linear time", () => {
    const positions = layeredPositions(groupGraph(tasks, members), { x: 100, y: 10 });
    expect(positions.get("t1")).toEqual({ x: 0, y: 0 });
    expect(positions.get("t2")).toEqual({ x: 100, y: 0 });
    expect(positions.get("t3")).toEqual({ x: 200, y: 0 });
    const chain = Array.from({ length: 1000 }, (_, i) => task(`n${i}`, { dependencies: i ? [`n${i - 1}`] : [] }));
    const started = performance.now();
    const big = layeredPositions(groupGraph(chain));
    expect(big.get("n999")!.x).toBe(999 * 220);
    expect(performance.now() - started).toBeLessThan(500);
  });
  it("shortens long labels", () => {
    expect(nodeLabel("x".repeat(60)).length).toBe(28);
  });
});

describe("timeline", () => {
  const events: TaskEvent[] = [
    { id: "3", taskId: "t", kind: "completed", sequence: 3, timestamp: "2026-05-03T10:00:03Z" },
    { id: "1", taskId: "t", kind: "started", sequence: 1, timestamp: "2026-05-03T10:00:01Z" },
    { id: "h", taskId: "t", kind: "heartbeat", sequence: null, timestamp: "2026-05-03T10:00:02Z" },
    { id: "2", taskId: "t", kind: "step", sequence: 2, timestamp: "2026-05-03T10:00:02Z", tokens: { promptTokens: 10, completionTokens: 5 } },
    { id: "2b", taskId: "t", kind: "step", sequence: 3, timestamp: "2026-05-03T10:00:02Z" },
    { id: "0", taskId: "t", kind: "queued", sequence: null, timestamp: "2026-05-03T10:00:00Z" },
    { id: "r", taskId: "t", kind: "retried", timestamp: "2026-05-03T10:00:04Z" },
    { id: "f", taskId: "t", kind: "failed", timestamp: "2026-05-03T10:00:05Z", message: "provider down" },
  ];
  it("orders by time then sequence, hides heartbeats and totals tokens, retries and errors", () => {
    const { entries, totals } = timeline(events);
    expect(entries.map((e) => e.id)).toEqual(["0", "1", "2", "2b", "3", "r", "f"]);
    expect(entries[2]!.tokens).toBe(15);
    expect(entries[6]!.tone).toBe("error");
    expect(totals).toEqual({ steps: 2, tokens: 15, retries: 1, errors: 1 });
  });
});

describe("group form", () => {
  it("parses dependency refs separated by commas or spaces", () => {
    expect(parseDependsOn(" a, b  c,,")).toEqual(["a", "b", "c"]);
    expect(parseDependsOn("")).toEqual([]);
  });
  it("builds the POST /task_groups body, three levels in the example", () => {
    const body = groupBody(" Release ", "p1", sampleRows());
    expect(body.name).toBe("Release");
    expect(body.projectId).toBe("p1");
    expect(body.tasks.map((t) => [t.ref, t.dependencies])).toEqual([
      ["research", []],
      ["design-a", ["research"]],
      ["design-b", ["research"]],
      ["review", ["design-a", "design-b"]],
    ]);
    expect(groupBody("", "", sampleRows())).not.toHaveProperty("name");
    expect(body.tasks[0]).not.toHaveProperty("agentId");
    expect(body.tasks[0]).not.toHaveProperty("inputs");
    const rows = sampleRows();
    rows[1]!.inputs = '{"steps": 2}';
    expect(groupBody("", "", rows).tasks[1]!.inputs).toEqual({ steps: 2 });
  });
  it("refuses inputs that are not a JSON object, naming the field", () => {
    expect(parseInputs("  ", "inputs")).toBeUndefined();
    expect(() => parseInputs("{", "inputs")).toThrow("valid JSON");
    const rows = sampleRows();
    rows[2]!.inputs = "[1]";
    try {
      groupBody("", "", rows);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InputsError);
      expect((error as InputsError).field).toBe("tasks.2.inputs");
    }
  });
});

describe("formatting and config", () => {
  it("formats bytes, durations and relative times", () => {
    expect(formatBytes(104857600)).toBe("100 MB");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(90_000)).toBe("1 min 30 s");
    const now = new Date("2026-05-03T12:00:00Z");
    expect(formatRelative(new Date("2026-05-03T15:00:00Z"), now)).toBe("in 3 h");
    expect(formatRelative(new Date("2026-05-03T11:55:00Z"), now)).toBe("5 min ago");
    expect(toDate({ toDate: () => now })).toBe(now);
    expect(toDate("not a date")).toBeNull();
  });
  it("follows preferences.theme, and the system for 'system'", () => {
    expect(effectiveTheme("dark", false)).toBe("dark");
    expect(effectiveTheme("light", true)).toBe("light");
    expect(effectiveTheme("system", true)).toBe("dark");
    expect(effectiveTheme(undefined, false)).toBe("light");
  });
  it("reads init.json and connects to emulators only when it names them", () => {
    const local = parseInitJson({
      projectId: "demo-aide",
      apiKey: "k",
      emulators: { auth: "http://127.0.0.1:9099", firestore: "127.0.0.1:8080" },
    });
    expect(local.emulators).toEqual({ auth: "http://127.0.0.1:9099", firestore: { host: "127.0.0.1", port: 8080 } });
    expect(local.firebase).toEqual({ projectId: "demo-aide", apiKey: "k" });
    const production = parseInitJson({ projectId: "aide-prod", apiKey: "k", authDomain: "aide-prod.firebaseapp.com" });
    expect(production.emulators).toEqual({});
    expect(parseInitJson({ projectId: "p", apiKey: "k", emulators: { auth: "javascript:alert(1)", firestore: "x" } }).emulators).toEqual({});
    expect(() => parseInitJson({ apiKey: "k" })).toThrow(ConfigError);
  });
});
