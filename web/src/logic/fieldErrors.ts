/**
 * The API's error details as messages per form field. Details come in two shapes:
 * request validation — a list of {field: "tasks.0.title", message, type} — and the task-graph
 * checks of POST /task_groups — objects naming `field` ("tasks[2].dependencies[0]") or `fields`
 * with their own keys. Paths are normalised to dots ("tasks.2.dependencies.0"); a form asks
 * for a field and gets the messages at or under it.
 */
export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export type FieldErrors = Record<string, string[]>;

export function normalisePath(path: string): string {
  return path
    .replace(/\[(\d+)\]/g, ".$1")
    .replace(/^\./, "")
    .replace(/^body\./, "");
}

function add(errors: FieldErrors, field: string, message: string): void {
  const key = normalisePath(field);
  const list = (errors[key] ??= []);
  if (!list.includes(message)) list.push(message);
}

function walk(node: unknown, fallback: string, errors: FieldErrors): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, fallback, errors);
    return;
  }
  if (node == null || typeof node !== "object") return;
  const record = node as Record<string, unknown>;
  const message = typeof record.message === "string" ? record.message : fallback;
  if (typeof record.field === "string") add(errors, record.field, message);
  if (Array.isArray(record.fields)) {
    for (const field of record.fields) if (typeof field === "string") add(errors, field, message);
  }
  for (const [key, value] of Object.entries(record)) {
    if (key !== "fields" && value != null && typeof value === "object") walk(value, fallback, errors);
  }
}

export function fieldErrors(error: ApiErrorBody): FieldErrors {
  const errors: FieldErrors = {};
  walk(error.details, error.message, errors);
  return errors;
}

/** Messages for `field` itself and anything under it ("tasks.1" gets "tasks.1.title" too). */
export function errorsFor(errors: FieldErrors, field: string): string[] {
  const prefix = `${field}.`;
  const found: string[] = [];
  for (const [key, messages] of Object.entries(errors)) {
    if (key === field || key.startsWith(prefix)) found.push(...messages);
  }
  return found;
}

/** Messages the form shows no field for (shown above the form). */
export function unplacedErrors(errors: FieldErrors, placedFields: string[]): string[] {
  const found: string[] = [];
  for (const [key, messages] of Object.entries(errors)) {
    const placed = placedFields.some((field) => key === field || key.startsWith(`${field}.`));
    if (!placed) found.push(...messages.map((m) => (key ? `${key}: ${m}` : m)));
  }
  return found;
}
