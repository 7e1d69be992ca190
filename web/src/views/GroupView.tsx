import { lazy, memo, Suspense, useMemo, useState } from "react";
import { Link, useLocation } from "wouter";
import { useLiveDoc, useLiveQuery } from "../data/listen";
import { groupDoc, groupTasksQuery } from "../data/queries";
import { statusLabel } from "../logic/format";
import { groupGraph, STATUS_STYLE } from "../logic/graph";
import { TASK_STATUSES, type Task, type TaskGroup } from "../types";
import { useSession } from "./context";
import { Banner, Panel, Progress, StatusBadge } from "./ui";

const TaskGraph = lazy(() => import("./TaskGraph"));

export default function GroupView({ id }: { id: string }) {
  const { db, api, user } = useSession();
  const [, navigate] = useLocation();
  const group = useLiveDoc<TaskGroup>(groupDoc(db, id), `group:${id}`);
  const g = group.data;
  const tasks = useLiveQuery<Task>(
    g ? groupTasksQuery(db, user.uid, id, g.projectId ?? null, g.userId) : null,
    `group-tasks:${id}:${g ? "ready" : "waiting"}`,
  );
  // The group document changes with every task (progress, counts); its member list does not.
  const membersKey = (g?.tasks ?? []).map((m) => `${m.id}:${m.ref}`).join(",");
  const members = useMemo(() => g?.tasks ?? [], [membersKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const model = useMemo(() => groupGraph(tasks.data, members), [tasks.data, members]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const failed = tasks.data.filter((t) => t.status === "failed");
  const refs = useMemo(() => new Map(members.map((m) => [m.id, m.ref])), [members]);
  const byId = new Map(tasks.data.map((t) => [t.id, t]));

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  if (group.error) {
    return (
      <div>
        <h1>Task group not available</h1>
        <p role="alert">This group does not exist or you may not read it.</p>
      </div>
    );
  }
  if (group.loading) return <p aria-busy="true">Loading…</p>;
  if (!g) return <h1>Task group not found</h1>;
  const active = g.status === "pending" || g.status === "running";
  return (
    <div className="group-view" data-status={g.status}>
      <div className="page-title">
        <h1>{g.name || "Task group"}</h1>
        <StatusBadge status={g.status} />
        <div className="actions">
          {active ? (
            <button type="button" className="danger" disabled={busy} onClick={() => run(() => api.post(`/task_groups/${id}/cancel`, {}))}>
              Cancel group
            </button>
          ) : null}
          {failed.length ? (
            // One request retries every failed task and revives the dependents their failures cancelled.
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() => run(() => api.post(`/task_groups/${id}/retry`, {}))}
            >
              Retry {failed.length} failed
            </button>
          ) : null}
        </div>
      </div>
      <Banner error={error} />
      <Progress value={g.progress ?? 0} label="Group progress" />
      <ul className="legend" aria-label="Legend">
        {TASK_STATUSES.map((s) => (
          <li key={s}>
            <span className="swatch" style={{ background: STATUS_STYLE[s].fill, borderColor: STATUS_STYLE[s].border }} aria-hidden="true" />
            {statusLabel(s)}
          </li>
        ))}
      </ul>
      {tasks.error ? <p role="alert">{tasks.error.message}</p> : null}
      <Suspense fallback={<p aria-busy="true">Loading the graph…</p>}>
        {model.nodes.length ? <TaskGraph model={model} onOpen={(taskId) => navigate(`/tasks/${taskId}`)} /> : null}
      </Suspense>
      <Panel title="Tasks of the group">
        <table className="group-tasks">
          <caption className="visually-hidden">Tasks of the group in the group's order</caption>
          <thead>
            <tr>
              <th scope="col">Ref</th>
              <th scope="col">Task</th>
              <th scope="col">Status</th>
              <th scope="col">Depends on</th>
            </tr>
          </thead>
          <tbody>
            {model.nodes.map((node) => (
              <TaskRow key={node.id} task={byId.get(node.id)!} refs={refs} />
            ))}
          </tbody>
        </table>
      </Panel>
    </div>
  );
}

/** One row per task; re-rendered only when its task object changed (the listener keeps the
 * objects of unchanged documents), so one status change costs one row, not 1,000. */
const TaskRow = memo(function TaskRow({ task, refs }: { task: Task; refs: Map<string, string> }) {
  return (
    <tr data-task={task.id} data-ref={refs.get(task.id)} data-status={task.status}>
      <td>{refs.get(task.id)}</td>
      <td>
        <Link href={`/tasks/${task.id}`}>{task.title}</Link>
      </td>
      <td>
        <StatusBadge status={task.status} />
      </td>
      <td>{(task.dependencies ?? []).map((d) => refs.get(d) ?? d).join(", ") || "–"}</td>
    </tr>
  );
});
