import type { UserDoc, UsageReport } from "../types";
import { toDate } from "./format";

export type Level = "ok" | "warning" | "critical";
export const NEAR_LIMIT = 0.8;

export interface ResourceRow {
  key: "apiCalls" | "taskMinutes" | "storageBytes" | "concurrency";
  label: string;
  used: number | null;
  limit: number;
  /** used / limit, 0..1+ (null when the usage is unknown). */
  fraction: number | null;
  level: Level;
  reset: Date | null;
}

export function level(fraction: number | null): Level {
  if (fraction == null) return "ok";
  if (fraction >= 1) return "critical";
  if (fraction >= NEAR_LIMIT) return "warning";
  return "ok";
}

function row(
  key: ResourceRow["key"],
  label: string,
  used: number | null,
  limit: number,
  reset: Date | null,
): ResourceRow {
  const fraction = used == null || limit <= 0 ? null : used / limit;
  return { key, label, used, limit, fraction, level: level(fraction), reset };
}

/**
 * Usage vs quota. Task minutes, storage and the limits come live from the user's document;
 * today's API calls are counted on server-only sharded counters, so they come from
 * GET /users/me/usage (`report`, refreshed after each action of this UI) when available.
 * Concurrency is the user's running tasks (a live listener) against the plan's slots.
 */
export function resourceRows(
  user: UserDoc,
  report: UsageReport | null,
  running: number,
  concurrencyLimit: number,
  now: Date,
): ResourceRow[] {
  const api = user.quotas.apiCalls;
  const minutes = user.quotas.taskMinutes;
  const minutesReset = toDate(minutes.reset);
  const minutesEnded = minutesReset != null && minutesReset.getTime() <= now.getTime();
  return [
    row(
      "apiCalls",
      "API calls today",
      report ? report.usage.apiCalls.used : null,
      report ? report.usage.apiCalls.limit : api.limit,
      report ? toDate(report.usage.apiCalls.reset) : toDate(api.reset),
    ),
    row(
      "taskMinutes",
      "Task minutes this month",
      minutesEnded ? 0 : (minutes.used ?? 0),
      minutes.limit,
      minutesReset,
    ),
    row("storageBytes", "Storage", user.quotas.storageBytes.used ?? 0, user.quotas.storageBytes.limit, null),
    row("concurrency", "Concurrent tasks", running, concurrencyLimit, null),
  ];
}
