import type { TaskPriority } from "../types";

/** One row of the task-group form: dependencies name other rows by ref. */
export interface GroupRow {
  ref: string;
  title: string;
  description: string;
  priority: TaskPriority;
  agentId: string;
  dependsOn: string;
}

export interface GroupCreateBody {
  name?: string;
  projectId?: string;
  tasks: {
    ref: string;
    title: string;
    description: string;
    priority: TaskPriority;
    agentId?: string;
    dependencies: string[];
  }[];
}

/** "a, b c" → ["a", "b", "c"]: refs separated by commas and/or spaces. */
export function parseDependsOn(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The POST /task_groups body for the form; validation (refs, cycles, lengths) is the API's,
 * whose messages the form shows by field. */
export function groupBody(name: string, projectId: string, rows: GroupRow[]): GroupCreateBody {
  const body: GroupCreateBody = {
    tasks: rows.map((row) => ({
      ref: row.ref.trim(),
      title: row.title,
      description: row.description,
      priority: row.priority,
      ...(row.agentId ? { agentId: row.agentId } : {}),
      dependencies: parseDependsOn(row.dependsOn),
    })),
  };
  if (name.trim()) body.name = name.trim();
  if (projectId) body.projectId = projectId;
  return body;
}

export function emptyRow(index: number): GroupRow {
  return { ref: `t${index + 1}`, title: "", description: "", priority: "medium", agentId: "", dependsOn: "" };
}

/** A three-level example: research → two designs in parallel → review. */
export function sampleRows(): GroupRow[] {
  const row = (ref: string, title: string, description: string, dependsOn: string): GroupRow => ({
    ref,
    title,
    description,
    priority: "medium",
    agentId: "",
    dependsOn,
  });
  return [
    row("research", "Research the topic", "Collect the facts the designs will need", ""),
    row("design-a", "Design option A", "Draft a first design from the research", "research"),
    row("design-b", "Design option B", "Draft an alternative design from the research", "research"),
    row("review", "Review both designs", "Compare both designs and recommend one", "design-a, design-b"),
  ];
}
