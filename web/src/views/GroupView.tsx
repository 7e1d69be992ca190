import { lazy, Suspense, useMemo, useState } from "react";
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
  const model = useMemo(() => groupGraph(tasks.data, g?.tasks ?? []), [tasks.data, g?.tasks]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const failed = tasks.data.filter((t) => t.status === "failed");
  const refs = new Map((g?.tasks ?? []).map((m) => [m.id, m.ref]));
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
            // No group retry endpoint: each failed task is retried (its cancelled dependents stay cancelled).
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() => run(() => Promise.all(failed.map((t) => api.post(`/tasks/${t.id}/retry`))))}
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
            {model.nodes.map((node) => {
              const task = byId.get(node.id)!;
              return (
                <tr key={node.id} data-task={node.id} data-ref={refs.get(node.id)} data-status={node.status}>
                  <td>{refs.get(node.id)}</td>
                  <td>
                    <Link href={`/tasks/${node.id}`}>{task.title}</Link>
                  </td>
                  <td>
                    <StatusBadge status={node.status} />
                  </td>
                  <td>{(task.dependencies ?? []).map((d) => refs.get(d) ?? d).join(", ") || "–"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Panel>
    </div>
  );
}
