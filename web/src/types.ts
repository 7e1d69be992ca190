// Shapes of the Firestore documents the UI listens to and of the API's answers
// (shared/schemas/*.schema.json and shared/openapi.json are the contracts).

export const TASK_STATUSES = ["pending", "queued", "in_progress", "completed", "failed", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TASK_PRIORITIES = ["low", "medium", "high", "critical"] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];
export type AgentStatus = "idle" | "busy" | "offline";
export type Theme = "light" | "dark" | "system";
export type GroupStatus = "pending" | "running" | "completed" | "failed" | "cancelled";

/** Firestore timestamps arrive as Timestamp objects; API answers carry ISO strings. */
export type TimeValue = string | Date | { toDate(): Date } | null | undefined;

export interface TaskMetrics {
  tokensUsed?: number | null;
  executionTimeMs?: number | null;
  stepCount?: number | null;
  providerTimeMs?: number | null;
  retries?: number | null;
  memoryUsageBytes?: number | null;
}

export interface StoredOutput {
  bucket: string;
  path: string;
  sizeBytes: number;
  contentType?: string;
}

export interface Task {
  id: string;
  userId: string;
  projectId?: string | null;
  groupId?: string | null;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  agentId?: string | null;
  dependencies?: string[];
  dependents?: string[];
  unmetDependencies?: number;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown> | null;
  outputRef?: StoredOutput | null;
  error?: string | null;
  cancelReason?: string | null;
  progress?: number;
  attempts?: number;
  maxAttempts?: number;
  queuedAt?: TimeValue;
  startedAt?: TimeValue;
  heartbeatAt?: TimeValue;
  completedAt?: TimeValue;
  failedAt?: TimeValue;
  cancelledAt?: TimeValue;
  createdAt?: TimeValue;
  updatedAt?: TimeValue;
  metrics?: TaskMetrics;
}

export interface TokenCounts {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
}

export interface TaskEvent {
  id: string;
  taskId: string;
  kind: string;
  message?: string;
  timestamp?: TimeValue;
  sequence?: number | null;
  fromStatus?: TaskStatus | null;
  toStatus?: TaskStatus | null;
  tokens?: TokenCounts | null;
  data?: Record<string, unknown>;
}

export interface GroupCounts {
  pending?: number;
  queued?: number;
  inProgress?: number;
  completed?: number;
  failed?: number;
  cancelled?: number;
}

export interface TaskGroup {
  id: string;
  userId: string;
  projectId?: string | null;
  name?: string | null;
  status: GroupStatus;
  progress?: number;
  counts?: GroupCounts;
  tasks?: { ref: string; id: string }[];
  createdAt?: TimeValue;
  completedAt?: TimeValue;
}

export interface Agent {
  id: string;
  name: string;
  description?: string;
  capabilities?: string[];
  provider?: string;
  model: string;
  status: AgentStatus;
  limits?: { timeoutSeconds?: number; maxSteps?: number; concurrency?: number };
}

export interface PeriodicQuota {
  limit: number;
  used?: number;
  reset?: TimeValue;
  burstLimit?: number | null;
  blockedUntil?: TimeValue;
}

export interface UserDoc {
  uid: string;
  email?: string | null;
  displayName?: string | null;
  role?: string;
  status?: string;
  preferences?: { theme?: Theme; notifications?: boolean };
  subscription?: { plan?: string; status?: string };
  quotas: {
    apiCalls: PeriodicQuota;
    taskMinutes: PeriodicQuota;
    storageBytes: { limit: number; used?: number };
  };
}

export interface Project {
  id: string;
  userId: string;
  name: string;
  description?: string | null;
  visibility: "private" | "team" | "public";
  memberIds?: string[];
  createdAt?: TimeValue;
}

export interface ApiKeyView {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  createdAt?: string;
  expiresAt?: string | null;
  lastUsedAt?: string | null;
  revokedAt?: string | null;
}

export interface UsageReport {
  plan: string;
  usage: {
    apiCalls: { used: number; limit: number; remaining: number; reset: string; burstLimit: number };
    taskMinutes: { used: number; limit: number; remaining: number; reset: string };
    storageBytes: { used: number; limit: number; remaining: number };
  };
}
