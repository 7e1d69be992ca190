import type { Task, TaskStatus } from "../types";

/** Status colours of the task graph and its legend. Fill and text pairs keep a contrast ratio
 * of at least 4.5:1 (WCAG AA) so labels stay readable in both themes. */
export const STATUS_STYLE: Record<TaskStatus, { fill: string; text: string; border: string }> = {
  pending: { fill: "#e2e8f0", text: "#1e293b", border: "#64748b" },
  queued: { fill: "#fde68a", text: "#422006", border: "#b45309" },
  in_progress: { fill: "#1d4ed8", text: "#ffffff", border: "#1e3a8a" },
  completed: { fill: "#15803d", text: "#ffffff", border: "#14532d" },
  failed: { fill: "#b91c1c", text: "#ffffff", border: "#7f1d1d" },
  cancelled: { fill: "#525252", text: "#ffffff", border: "#262626" },
};

export interface GraphNode {
  id: string;
  label: string;
  status: TaskStatus;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
}

export interface GraphModel {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const MAX_LABEL = 28;

export function nodeLabel(title: string, ref?: string): string {
  const text = ref ? `${ref}: ${title}` : title;
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}

/** Nodes for the group's tasks (in the group's order, refs as labels) and an edge from each
 * dependency to its dependent; dependencies outside the group are not drawn. */
export function groupGraph(tasks: Task[], members: { ref: string; id: string }[] = []): GraphModel {
  const refById = new Map(members.map((m) => [m.id, m.ref]));
  const order = new Map(members.map((m, index) => [m.id, index]));
  const sorted = [...tasks].sort(
    (a, b) => (order.get(a.id) ?? Number.MAX_SAFE_INTEGER) - (order.get(b.id) ?? Number.MAX_SAFE_INTEGER),
  );
  const ids = new Set(sorted.map((t) => t.id));
  const nodes = sorted.map((t) => ({ id: t.id, label: nodeLabel(t.title, refById.get(t.id)), status: t.status }));
  const edges: GraphEdge[] = [];
  for (const task of sorted) {
    for (const dep of task.dependencies ?? []) {
      if (ids.has(dep)) edges.push({ id: `${dep}->${task.id}`, source: dep, target: task.id });
    }
  }
  return { nodes, edges };
}

/** Nodes whose status differs from what the graph shows: only these are restyled. */
export function statusChanges(shown: Map<string, TaskStatus>, tasks: Task[]): { id: string; status: TaskStatus }[] {
  const changes: { id: string; status: TaskStatus }[] = [];
  for (const task of tasks) {
    if (shown.has(task.id) && shown.get(task.id) !== task.status) changes.push({ id: task.id, status: task.status });
  }
  return changes;
}

/**
 * A layered left-to-right layout in O(nodes + edges): each node's column is its depth (1 + the
 * deepest dependency), rows follow the group's order within a column. Used for large groups,
 * where dagre's crossing minimisation costs seconds; small groups get dagre.
 */
export function layeredPositions(
  model: GraphModel,
  spacing = { x: 220, y: 56 },
): Map<string, { x: number; y: number }> {
  const incoming = new Map<string, string[]>();
  const outgoing = new Map<string, string[]>();
  for (const node of model.nodes) {
    incoming.set(node.id, []);
    outgoing.set(node.id, []);
  }
  for (const edge of model.edges) {
    incoming.get(edge.target)?.push(edge.source);
    outgoing.get(edge.source)?.push(edge.target);
  }
  const depth = new Map<string, number>();
  const remaining = new Map(model.nodes.map((n) => [n.id, incoming.get(n.id)?.length ?? 0]));
  const queue = model.nodes.filter((n) => remaining.get(n.id) === 0).map((n) => n.id);
  for (const id of queue) depth.set(id, 0);
  for (let i = 0; i < queue.length; i += 1) {
    const id = queue[i]!;
    for (const next of outgoing.get(id) ?? []) {
      depth.set(next, Math.max(depth.get(next) ?? 0, (depth.get(id) ?? 0) + 1));
      const left = (remaining.get(next) ?? 0) - 1;
      remaining.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  const rows = new Map<number, number>();
  const positions = new Map<string, { x: number; y: number }>();
  for (const node of model.nodes) {
    const column = depth.get(node.id) ?? 0; // a cycle (never created by the API) stays at 0
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    positions.set(node.id, { x: column * spacing.x, y: row * spacing.y });
  }
  return positions;
}

export const DAGRE_MAX_NODES = 300;
