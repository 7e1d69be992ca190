/** Dashboard header figures. Each count comes from a bounded source — a listener with a limit
 * (running tasks: "N+" past it) or a server-side count (queued, completed and failed today). */

export interface BoundedCount {
  value: number;
  /** True when the source stopped at its limit: there may be more. */
  capped: boolean;
}

export interface HeaderStats {
  running: BoundedCount;
  queued: number | null;
  completedToday: number | null;
  failedToday: number | null;
  /** Completed / (completed + failed) today, 0..1; null before anything finished today. */
  successRate: number | null;
}

export function boundedCount(size: number, limit: number): BoundedCount {
  return { value: Math.min(size, limit), capped: size >= limit };
}

export function formatCount(count: BoundedCount | number | null): string {
  if (count == null) return "–";
  if (typeof count === "number") return count.toLocaleString("en-US");
  return `${count.value.toLocaleString("en-US")}${count.capped ? "+" : ""}`;
}

export function successRate(completed: number | null, failed: number | null): number | null {
  if (completed == null || failed == null) return null;
  const finished = completed + failed;
  return finished === 0 ? null : completed / finished;
}

export function formatRate(rate: number | null): string {
  return rate == null ? "–" : `${(rate * 100).toFixed(rate === 1 || rate === 0 ? 0 : 1)}%`;
}

/** Midnight of `now`'s day in the browser's time zone: "today" as the user sees it. */
export function startOfDay(now: Date): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

export function headerStats(input: {
  runningSize: number;
  runningLimit: number;
  queued: number | null;
  completedToday: number | null;
  failedToday: number | null;
}): HeaderStats {
  return {
    running: boundedCount(input.runningSize, input.runningLimit),
    queued: input.queued,
    completedToday: input.completedToday,
    failedToday: input.failedToday,
    successRate: successRate(input.completedToday, input.failedToday),
  };
}
