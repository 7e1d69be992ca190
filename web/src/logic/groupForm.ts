import type { TaskPriority } from "../types";

/** One row of the task-group form: dependencies name other rows by ref. */
export interface GroupRow {
  ref: string;
  title: string;
  description: string;
  priority: TaskPriority;
  agentId: string;
  dependsOn: string;
  /** Optional JSON object: the task's inputs (e.g. an agent's knobs). */
  inputs: string;
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
    inputs?: Record<string, unknown>;
    dependencies: string[];
  }[];
}

export class InputsError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** The inputs text of a form as an object: empty → undefined; anything but a JSON object →
 * InputsError naming `field`, shown under that field before anything is sent. */
export function parseInputs(text: string, field: string): Record<string, unknown> | undefined {
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputsError(field, "Inputs must be valid JSON");
  }
  if (value == null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputsError(field, "Inputs must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** "a, b c" → ["a", "b", "c"]: refs separated by commas and/or spaces. */
export function parseDependsOn(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The POST /task_groups body for the form; validation (refs, cycles, lengths) is the API's,
 * whose messages the form shows by field. Throws InputsError for inputs that are not a JSON object. */
export function groupBody(name: string, projectId: string, rows: GroupRow[]): GroupCreateBody {
  const body: GroupCreateBody = {
    tasks: rows.map((row, index) => {
      const inputs = parseInputs(row.inputs, `tasks.${index}.inputs`);
      return {
        ref: row.ref.trim(),
        title: row.title,
        description: row.description,
        priority: row.priority,
        ...(row.agentId ? { agentId: row.agentId } : {}),
        ...(inputs ? { inputs } : {}),
        dependencies: parseDependsOn(row.dependsOn),
      };
    }),
  };
  if (name.trim()) body.name = name.trim();
  if (projectId) body.projectId = projectId;
  return body;
}

export function emptyRow(index: number): GroupRow {
  return { ref: `t${index + 1}`, title: "", description: "", priority: "medium", agentId: "", dependsOn: "", inputs: "" };
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
    inputs: "",
  });
  return [
    row("research", "Research the topic", "Collect the facts the designs will need", ""),
    row("design-a", "Design option A", "Draft a first design from the research", "research"),
    row("design-b", "Design option B", "Draft an alternative design from the research", "research"),
    row("review", "Review both designs", "Compare both designs and recommend one", "design-a, design-b"),
  ];
}
