import type { Task } from "../types";
import { toMillis } from "./format";
import type { ResourceRow } from "./resources";

export interface Alert {
  id: string;
  severity: "error" | "warning";
  kind: "failed_task" | "quota" | "stale_run";
  message: string;
  taskId?: string;
}

/** A run refreshes its heartbeat every 15 s; four missed beats and the sweeper will end it. */
export const STALE_AFTER_MS = 60_000;

export function isStale(task: Task, now: number, staleAfterMs = STALE_AFTER_MS): boolean {
  if (task.status !== "in_progress") return false;
  const beat = toMillis(task.heartbeatAt) ?? toMillis(task.startedAt);
  return beat != null && now - beat > staleAfterMs;
}

export function computeAlerts(input: {
  failedTasks: Task[];
  runningTasks: Task[];
  resources: ResourceRow[];
  now: number;
}): Alert[] {
  const alerts: Alert[] = [];
  for (const task of input.failedTasks) {
    alerts.push({
      id: `failed:${task.id}`,
      severity: "error",
      kind: "failed_task",
      message: `Task "${task.title}" failed${task.error ? `: ${task.error}` : ""}`,
      taskId: task.id,
    });
  }
  for (const task of input.runningTasks) {
    if (isStale(task, input.now)) {
      alerts.push({
        id: `stale:${task.id}`,
        severity: "warning",
        kind: "stale_run",
        message: `Task "${task.title}" has sent no heartbeat for over ${STALE_AFTER_MS / 1000} s`,
        taskId: task.id,
      });
    }
  }
  for (const resource of input.resources) {
    if (resource.key === "concurrency" || resource.fraction == null) continue;
    if (resource.level === "ok") continue;
    const percent = Math.round(resource.fraction * 100);
    alerts.push({
      id: `quota:${resource.key}`,
      severity: resource.level === "critical" ? "error" : "warning",
      kind: "quota",
      message:
        resource.level === "critical"
          ? `${resource.label}: quota exhausted (${percent}%)`
          : `${resource.label}: ${percent}% of the quota used`,
    });
  }
  return alerts;
}
