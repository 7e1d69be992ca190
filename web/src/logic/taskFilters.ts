import { TASK_PRIORITIES, TASK_STATUSES, type TaskPriority, type TaskStatus } from "../types";

/** The task list's filters, kept in the URL (?status=&priority=&agent=&project=) so a filtered
 * view can be bookmarked and survives a reload. */
export interface TaskFilters {
  status?: TaskStatus;
  priority?: TaskPriority;
  agentId?: string;
  projectId?: string;
}

const ID = /^[^/]{1,200}$/;

export function parseFilters(search: string): TaskFilters {
  const params = new URLSearchParams(search);
  const filters: TaskFilters = {};
  const status = params.get("status");
  if (status && (TASK_STATUSES as readonly string[]).includes(status)) filters.status = status as TaskStatus;
  const priority = params.get("priority");
  if (priority && (TASK_PRIORITIES as readonly string[]).includes(priority)) {
    filters.priority = priority as TaskPriority;
  }
  const agent = params.get("agent");
  if (agent && ID.test(agent)) filters.agentId = agent;
  const project = params.get("project");
  if (project && ID.test(project)) filters.projectId = project;
  return filters;
}

export function filtersToSearch(filters: TaskFilters): string {
  const params = new URLSearchParams();
  if (filters.status) params.set("status", filters.status);
  if (filters.priority) params.set("priority", filters.priority);
  if (filters.agentId) params.set("agent", filters.agentId);
  if (filters.projectId) params.set("project", filters.projectId);
  const text = params.toString();
  return text ? `?${text}` : "";
}

export type Equality = [field: "userId" | "projectId" | "status" | "priority" | "agentId", value: string];

/**
 * The equality filters of the Firestore query for a filter set, ordered by createdAt desc.
 * Security rules let a client list tasks only by owner (`userId == me`) or by a project it can
 * read (`projectId == p`: every task of a team project); the other equalities narrow that.
 * Firestore serves any combination by merging the (field, createdAt desc) indexes.
 */
export function taskQueryEqualities(uid: string, filters: TaskFilters): Equality[] {
  const equalities: Equality[] = filters.projectId
    ? [["projectId", filters.projectId]]
    : [["userId", uid]];
  if (filters.status) equalities.push(["status", filters.status]);
  if (filters.priority) equalities.push(["priority", filters.priority]);
  if (filters.agentId) equalities.push(["agentId", filters.agentId]);
  return equalities;
}

export function filtersKey(filters: TaskFilters): string {
  return filtersToSearch(filters);
}
