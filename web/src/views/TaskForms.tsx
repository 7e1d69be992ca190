import { useRef, useState, type FormEvent } from "react";
import { Link, useLocation } from "wouter";
import { ApiError, newIdempotencyKey } from "../api";
import { useLiveQuery } from "../data/listen";
import { agentsQuery } from "../data/queries";
import { fieldErrors, unplacedErrors, type FieldErrors } from "../logic/fieldErrors";
import { emptyRow, groupBody, InputsError, parseInputs, sampleRows, type GroupRow } from "../logic/groupForm";
import { TASK_PRIORITIES, type Agent, type Task, type TaskGroup, type TaskPriority } from "../types";
import { useSession } from "./context";
import { useProjects } from "./TaskList";
import { Banner, ErrorText, Field } from "./ui";

/** Submitting state shared by the create forms: one Idempotency-Key per filled-in form, so a
 * double submit or a retry after a network error creates the resource once. */
function useSubmit() {
  const key = useRef(newIdempotencyKey());
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  async function run<T>(action: (key: string) => Promise<T>): Promise<T | null> {
    if (busy) return null;
    setBusy(true);
    setError(null);
    setErrors({});
    try {
      return await action(key.current);
    } catch (caught) {
      if (caught instanceof InputsError) {
        setErrors({ [caught.field]: [caught.message] });
        return null;
      }
      if (caught instanceof ApiError && caught.status >= 400 && caught.status < 500) {
        setErrors(fieldErrors(caught.body));
        // The body was refused: the next attempt is a different request.
        key.current = newIdempotencyKey();
      }
      setError(caught);
      return null;
    } finally {
      setBusy(false);
    }
  }
  return { busy, errors, error, run };
}

export function NewTask() {
  const { api, db } = useSession();
  const [, navigate] = useLocation();
  const agents = useLiveQuery<Agent>(agentsQuery(db), "agents");
  const projects = useProjects();
  const [form, setForm] = useState({
    title: "",
    description: "",
    priority: "medium" as TaskPriority,
    agentId: "",
    projectId: "",
    inputs: "",
  });
  const { busy, errors, error, run } = useSubmit();
  const placed = ["title", "description", "priority", "agentId", "projectId", "inputs"];

  async function submit(event: FormEvent) {
    event.preventDefault();
    const created = await run((key) => {
      const inputs = parseInputs(form.inputs, "inputs");
      const body = {
        title: form.title,
        description: form.description,
        priority: form.priority,
        ...(form.agentId ? { agentId: form.agentId } : {}),
        ...(form.projectId ? { projectId: form.projectId } : {}),
        ...(inputs ? { inputs } : {}),
      };
      return api.create<{ task: Task }>("/tasks", body, key);
    });
    if (created) navigate(`/tasks/${created.task.id}`);
  }

  const set = (name: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value });
  return (
    <form className="form" onSubmit={submit} aria-labelledby="new-task" noValidate>
      <h1 id="new-task">New task</h1>
      <Banner error={error} />
      <ErrorText messages={unplacedErrors(errors, placed)} />
      <Field label="Title" name="title" errors={errors} hint="3 to 100 characters">
        {(p) => <input {...p} value={form.title} onChange={set("title")} />}
      </Field>
      <Field label="Description" name="description" errors={errors} hint="10 to 5,000 characters">
        {(p) => <textarea {...p} rows={4} value={form.description} onChange={set("description")} />}
      </Field>
      <Field label="Priority" name="priority" errors={errors}>
        {(p) => (
          <select {...p} value={form.priority} onChange={set("priority")}>
            {TASK_PRIORITIES.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Agent" name="agentId" errors={errors} hint="Automatic: the agent whose capabilities the task names">
        {(p) => (
          <select {...p} value={form.agentId} onChange={set("agentId")}>
            <option value="">Automatic</option>
            {agents.data.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Project" name="projectId" errors={errors}>
        {(p) => (
          <select {...p} value={form.projectId} onChange={set("projectId")}>
            <option value="">None</option>
            {projects.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Inputs (JSON object, optional)" name="inputs" errors={errors} hint='For example {"steps": 3}'>
        {(p) => <textarea {...p} rows={2} value={form.inputs} onChange={set("inputs")} />}
      </Field>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Create task
        </button>
        <Link href="/tasks">Cancel</Link>
      </div>
    </form>
  );
}

export function NewGroup() {
  const { api } = useSession();
  const [, navigate] = useLocation();
  const projects = useProjects();
  const [name, setName] = useState("");
  const [projectId, setProjectId] = useState("");
  const [rows, setRows] = useState<GroupRow[]>(() => [emptyRow(0)]);
  const { busy, errors, error, run } = useSubmit();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const created = await run((key) =>
      api.create<{ taskGroup: TaskGroup }>("/task_groups", groupBody(name, projectId, rows), key),
    );
    if (created) navigate(`/groups/${created.taskGroup.id}`);
  }

  function update(index: number, change: Partial<GroupRow>) {
    setRows(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  }

  const placed = ["name", "projectId", "tasks"];
  return (
    <form className="form wide" onSubmit={submit} aria-labelledby="new-group" noValidate>
      <h1 id="new-group">New task group</h1>
      <p>Tasks name each other by ref; a task starts once every task it depends on has completed.</p>
      <Banner error={error} />
      <ErrorText messages={unplacedErrors(errors, placed)} />
      <div className="row">
        <Field label="Group name" name="name" errors={errors}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Project" name="projectId" errors={errors}>
          {(p) => (
            <select {...p} value={projectId} onChange={(e) => setProjectId(e.target.value)}>
              <option value="">None</option>
              {projects.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <ErrorText messages={errors.tasks ?? []} />
      {rows.map((row, index) => (
        <fieldset key={index} className="group-row" data-row={index}>
          <legend>Task {index + 1}</legend>
          <Field label="Ref" name={`tasks.${index}.ref`} errors={errors}>
            {(p) => <input {...p} value={row.ref} onChange={(e) => update(index, { ref: e.target.value })} />}
          </Field>
          <Field label="Title" name={`tasks.${index}.title`} errors={errors}>
            {(p) => <input {...p} value={row.title} onChange={(e) => update(index, { title: e.target.value })} />}
          </Field>
          <Field label="Description" name={`tasks.${index}.description`} errors={errors}>
            {(p) => <input {...p} value={row.description} onChange={(e) => update(index, { description: e.target.value })} />}
          </Field>
          <Field label="Priority" name={`tasks.${index}.priority`} errors={errors}>
            {(p) => (
              <select {...p} value={row.priority} onChange={(e) => update(index, { priority: e.target.value as TaskPriority })}>
                {TASK_PRIORITIES.map((x) => (
                  <option key={x}>{x}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Depends on (refs)" name={`tasks.${index}.dependencies`} errors={errors}>
            {(p) => <input {...p} value={row.dependsOn} onChange={(e) => update(index, { dependsOn: e.target.value })} />}
          </Field>
          <Field label="Inputs (JSON)" name={`tasks.${index}.inputs`} errors={errors}>
            {(p) => <input {...p} value={row.inputs} onChange={(e) => update(index, { inputs: e.target.value })} />}
          </Field>
          <button type="button" onClick={() => setRows(rows.filter((_, i) => i !== index))} disabled={rows.length === 1}>
            Remove task {index + 1}
          </button>
        </fieldset>
      ))}
      <div className="actions">
        <button type="button" onClick={() => setRows([...rows, emptyRow(rows.length)])}>
          Add a task
        </button>
        <button type="button" onClick={() => setRows(sampleRows())}>
          Fill in a 3-level example
        </button>
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Create group
        </button>
        <Link href="/groups">Cancel</Link>
      </div>
    </form>
  );
}
