import type { TimeValue } from "../types";

/** A Firestore Timestamp, a Date or an ISO string as a Date (null when absent or invalid). */
export function toDate(value: TimeValue): Date | null {
  if (value == null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value === "string") {
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? null : parsed;
  }
  if (typeof value === "object" && typeof value.toDate === "function") return value.toDate();
  return null;
}

export function toMillis(value: TimeValue): number | null {
  const date = toDate(value);
  return date ? date.getTime() : null;
}

const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB"];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

/** "in 3 h", "5 min ago", "just now": coarse, for reset times and ages. */
export function formatRelative(when: Date | null, now: Date): string {
  if (!when) return "–";
  const delta = when.getTime() - now.getTime();
  const abs = Math.abs(delta);
  if (abs < 45_000) return "just now";
  const units: [number, string][] = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
  ];
  for (const [size, name] of units) {
    if (abs >= size) {
      const count = Math.round(abs / size);
      return delta > 0 ? `in ${count} ${name}` : `${count} ${name} ago`;
    }
  }
  return delta > 0 ? "in 1 min" : "1 min ago";
}

export function formatTime(value: TimeValue): string {
  const date = toDate(value);
  return date ? date.toLocaleString() : "–";
}

export function formatNumber(value: number | null | undefined): string {
  return value == null || !Number.isFinite(value) ? "–" : value.toLocaleString("en-US");
}

export function statusLabel(status: string): string {
  return status.replace(/_/g, " ");
}
