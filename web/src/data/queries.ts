import {
  collection,
  doc,
  limit,
  orderBy,
  query,
  startAfter,
  where,
  type Firestore,
  type Query,
  type QueryDocumentSnapshot,
} from "firebase/firestore";
import constants from "../../../shared/constants.json";
import type { TaskFilters } from "../logic/taskFilters";
import { taskQueryEqualities } from "../logic/taskFilters";

/**
 * Every Firestore read the UI makes. Each is allowed by firestore.rules for the signed-in user
 * (owner filter `userId == me`, or a project the user can read) and served by an index of
 * firestore.indexes.json; every collection query has a limit.
 */
export const C = constants.collections;
export const EVENTS = constants.subcollections.TASK_EVENTS;

export const LIMITS = {
  recentTasks: 10,
  running: 100,
  failedAlerts: 5,
  agents: 50,
  taskPage: 25,
  groups: 25,
  projects: 50,
  events: 500,
  groupTasks: constants.limits.maxTasksPerGroup,
};

export const userDoc = (db: Firestore, uid: string) => doc(db, C.USERS, uid);
export const taskDoc = (db: Firestore, id: string) => doc(db, C.TASKS, id);
export const groupDoc = (db: Firestore, id: string) => doc(db, C.TASK_GROUPS, id);

export const agentsQuery = (db: Firestore) => query(collection(db, C.AGENTS), limit(LIMITS.agents));

const mine = (db: Firestore, uid: string) => query(collection(db, C.TASKS), where("userId", "==", uid));

export const recentTasksQuery = (db: Firestore, uid: string) =>
  query(mine(db, uid), orderBy("createdAt", "desc"), limit(LIMITS.recentTasks));

export const tasksWithStatusQuery = (db: Firestore, uid: string, status: string, max: number) =>
  query(mine(db, uid), where("status", "==", status), orderBy("createdAt", "desc"), limit(max));

/** The user's tasks in `status`: counted server-side (one read per 1,000 matches). */
export const withStatusQuery = (db: Firestore, uid: string, status: string) =>
  query(mine(db, uid), where("status", "==", status));

/** Tasks that reached `status` (completed / failed) since `since`: counted server-side. */
export const finishedSinceQuery = (db: Firestore, uid: string, status: "completed" | "failed", since: Date) =>
  query(mine(db, uid), where("status", "==", status), where(status === "completed" ? "completedAt" : "failedAt", ">=", since));

export function taskPageQuery(
  db: Firestore,
  uid: string,
  filters: TaskFilters,
  after: QueryDocumentSnapshot | undefined,
  pageSize = LIMITS.taskPage,
): Query {
  const constraints = taskQueryEqualities(uid, filters).map(([field, value]) => where(field, "==", value));
  const base = query(collection(db, C.TASKS), ...constraints, orderBy("createdAt", "desc"));
  // One extra document says whether a next page exists.
  return after ? query(base, startAfter(after), limit(pageSize + 1)) : query(base, limit(pageSize + 1));
}

export const eventsQuery = (db: Firestore, taskId: string) =>
  query(collection(db, C.TASKS, taskId, EVENTS), orderBy("timestamp", "asc"), limit(LIMITS.events));

export const groupsQuery = (db: Firestore, uid: string) =>
  query(collection(db, C.TASK_GROUPS), where("userId", "==", uid), orderBy("createdAt", "desc"), limit(LIMITS.groups));

/** The group's tasks: by owner, or for a team project's group by project (what the rules allow). */
export const groupTasksQuery = (db: Firestore, uid: string, groupId: string, projectId: string | null, ownerId: string) =>
  query(
    collection(db, C.TASKS),
    ownerId === uid || !projectId ? where("userId", "==", ownerId) : where("projectId", "==", projectId),
    where("groupId", "==", groupId),
    limit(LIMITS.groupTasks),
  );

export const ownProjectsQuery = (db: Firestore, uid: string) =>
  query(collection(db, C.PROJECTS), where("userId", "==", uid), orderBy("createdAt", "desc"), limit(LIMITS.projects));

export const teamProjectsQuery = (db: Firestore, uid: string) =>
  query(
    collection(db, C.PROJECTS),
    where("visibility", "==", "team"),
    where("memberIds", "array-contains", uid),
    limit(LIMITS.projects),
  );
