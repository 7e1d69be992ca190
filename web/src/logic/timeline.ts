import type { TaskEvent } from "../types";
import { toDate, toMillis } from "./format";

export type Tone = "info" | "success" | "warning" | "error";

export interface TimelineEntry {
  id: string;
  kind: string;
  title: string;
  message: string;
  time: Date | null;
  tokens: number | null;
  tone: Tone;
}

export interface TimelineTotals {
  steps: number;
  tokens: number;
  retries: number;
  errors: number;
}

const TITLES: Record<string, string> = {
  created: "Created",
  queued: "Queued",
  started: "Started",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
  requeued: "Requeued",
  retried: "Retried",
  step: "Step",
  progress: "Progress",
  output: "Output",
  log: "Log",
  heartbeat: "Heartbeat",
};

function tone(event: TaskEvent): Tone {
  if (event.kind === "failed" || event.toStatus === "failed") return "error";
  if (event.kind === "completed") return "success";
  if (event.kind === "retried" || event.kind === "requeued" || event.kind === "cancelled") return "warning";
  if (event.kind === "log" && typeof event.data?.level === "string" && /error|warn/i.test(event.data.level)) {
    return "warning";
  }
  return "info";
}

function tokensOf(event: TaskEvent): number | null {
  const tokens = event.tokens;
  if (!tokens) return null;
  if (typeof tokens.totalTokens === "number") return tokens.totalTokens;
  const sum = (tokens.promptTokens ?? 0) + (tokens.completionTokens ?? 0);
  return sum || null;
}

/** The task's event stream, oldest first (by time; a run's steps written in the same instant
 * by their sequence), heartbeats left out. */
export function timeline(events: TaskEvent[]): { entries: TimelineEntry[]; totals: TimelineTotals } {
  const sorted = [...events]
    .filter((e) => e.kind !== "heartbeat")
    .sort((a, b) => {
      const byTime = (toMillis(a.timestamp) ?? 0) - (toMillis(b.timestamp) ?? 0);
      if (byTime !== 0) return byTime;
      return (a.sequence ?? 0) - (b.sequence ?? 0);
    });
  const totals: TimelineTotals = { steps: 0, tokens: 0, retries: 0, errors: 0 };
  const entries = sorted.map((event) => {
    const tokens = tokensOf(event);
    if (event.kind === "step") totals.steps += 1;
    if (tokens) totals.tokens += tokens;
    if (event.kind === "retried" || event.kind === "requeued" || event.data?.retry === true) totals.retries += 1;
    const entryTone = tone(event);
    if (entryTone === "error") totals.errors += 1;
    return {
      id: event.id,
      kind: event.kind,
      title: TITLES[event.kind] ?? event.kind,
      message: event.message ?? "",
      time: toDate(event.timestamp),
      tokens,
      tone: entryTone,
    };
  });
  return { entries, totals };
}
