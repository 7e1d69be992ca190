import { useState } from "react";
import { Link } from "wouter";
import { useLiveDoc, useLiveQuery } from "../data/listen";
import { eventsQuery, taskDoc } from "../data/queries";
import { formatDuration, formatNumber, formatTime } from "../logic/format";
import { timeline } from "../logic/timeline";
import type { Task, TaskEvent } from "../types";
import { useSession } from "./context";
import { Banner, Empty, Panel, Progress, StatusBadge } from "./ui";

const CANCELLABLE = new Set(["pending", "queued", "in_progress"]);

export function TaskDetail({ id }: { id: string }) {
  const { db, api } = useSession();
  const task = useLiveDoc<Task>(taskDoc(db, id), `task:${id}`);
  const events = useLiveQuery<TaskEvent>(eventsQuery(db, id), `events:${id}`);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [context, setContext] = useState<unknown>(null);

  async function act(path: string, body?: unknown) {
    setBusy(true);
    setActionError(null);
    try {
      await api.post(path, body);
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy(false);
    }
  }

  async function download() {
    setActionError(null);
    try {
      const output = await api.get<{ outputs: unknown }>(`/tasks/${id}/output`);
      const blob = new Blob([JSON.stringify(output.outputs, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `task-${id}-output.json`;
      link.click();
      URL.revokeObjectURL(url);
    } catch (error) {
      setActionError(error);
    }
  }

  if (task.error) {
    return (
      <div>
        <h1>Task not available</h1>
        <p role="alert">This task does not exist or you may not read it.</p>
      </div>
    );
  }
  if (task.loading) return <p aria-busy="true">Loading…</p>;
  if (!task.data) {
    return (
      <div>
        <h1>Task not found</h1>
        <Link href="/tasks">All tasks</Link>
      </div>
    );
  }
  const t = task.data;
  const { entries, totals } = timeline(events.data);
  const metrics = t.metrics ?? {};
  return (
    <div className="task-detail" data-status={t.status}>
      <div className="page-title">
        <h1>{t.title}</h1>
        <StatusBadge status={t.status} />
        <div className="actions">
          {CANCELLABLE.has(t.status) ? (
            <button type="button" className="danger" disabled={busy} onClick={() => act(`/tasks/${id}/cancel`, {})}>
              Cancel task
            </button>
          ) : null}
          {t.status === "failed" ? (
            <button type="button" className="primary" disabled={busy} onClick={() => act(`/tasks/${id}/retry`)}>
              Retry task
            </button>
          ) : null}
        </div>
      </div>
      <Banner error={actionError} />
      <Progress value={t.progress ?? 0} label="Task progress" />
      <p className="description">{t.description}</p>
      {t.error ? (
        <p className="banner error" data-task-error>
          {t.error}
        </p>
      ) : null}
      {t.cancelReason ? <p className="banner warning">Cancelled: {t.cancelReason}</p> : null}
      <div className="detail-grid">
        <Panel title="Timeline">
          <p className="muted">
            {totals.steps} steps · {formatNumber(totals.tokens)} tokens · {totals.retries} retries · {totals.errors} errors
          </p>
          {entries.length === 0 ? (
            <Empty>No events yet.</Empty>
          ) : (
            <ol className="timeline" tabIndex={0} aria-label="Events, oldest first">
              {entries.map((e) => (
                <li key={e.id} className={`tone-${e.tone}`} data-kind={e.kind}>
                  <strong>{e.title}</strong> <time>{e.time ? e.time.toLocaleTimeString() : ""}</time>
                  {e.tokens ? <span className="muted"> · {formatNumber(e.tokens)} tokens</span> : null}
                  {e.message ? <div>{e.message}</div> : null}
                </li>
              ))}
            </ol>
          )}
        </Panel>
        <div>
          <Panel title="Details">
            <dl className="details">
              <dt>Priority</dt>
              <dd>{t.priority}</dd>
              <dt>Agent</dt>
              <dd>{t.agentId ?? "–"}</dd>
              <dt>Attempts</dt>
              <dd>
                {t.attempts ?? 0} of {t.maxAttempts ?? "–"}
              </dd>
              <dt>Created</dt>
              <dd>{formatTime(t.createdAt)}</dd>
              <dt>Started</dt>
              <dd>{formatTime(t.startedAt)}</dd>
              <dt>Finished</dt>
              <dd>{formatTime(t.completedAt ?? t.failedAt ?? t.cancelledAt)}</dd>
              {t.groupId ? (
                <>
                  <dt>Group</dt>
                  <dd>
                    <Link href={`/groups/${t.groupId}`}>Open the group</Link>
                  </dd>
                </>
              ) : null}
              {t.dependencies?.length ? (
                <>
                  <dt>Depends on</dt>
                  <dd>
                    {t.dependencies.map((dep) => (
                      <Link key={dep} href={`/tasks/${dep}`} className="chip">
                        {dep}
                      </Link>
                    ))}
                  </dd>
                </>
              ) : null}
            </dl>
          </Panel>
          <Panel title="Metrics">
            <dl className="details">
              <dt>Tokens</dt>
              <dd>{formatNumber(metrics.tokensUsed)}</dd>
              <dt>Execution time</dt>
              <dd>{metrics.executionTimeMs != null ? formatDuration(metrics.executionTimeMs) : "–"}</dd>
              <dt>Provider time</dt>
              <dd>{metrics.providerTimeMs != null ? formatDuration(metrics.providerTimeMs) : "–"}</dd>
              <dt>Steps</dt>
              <dd>{formatNumber(metrics.stepCount)}</dd>
              <dt>Retries</dt>
              <dd>{formatNumber(metrics.retries)}</dd>
            </dl>
          </Panel>
          <Panel title="Output">
            {t.outputRef ? (
              <button type="button" onClick={download}>
                Download the output ({formatNumber(t.outputRef.sizeBytes)} bytes)
              </button>
            ) : t.outputs ? (
              <pre className="output" tabIndex={0} aria-label="Task output">
                {JSON.stringify(t.outputs, null, 2)}
              </pre>
            ) : (
              <Empty>No output yet.</Empty>
            )}
          </Panel>
          <Panel
            title="Context"
            actions={
              <button
                type="button"
                onClick={() =>
                  api
                    .get(`/tasks/${id}/context`)
                    .then(setContext)
                    .catch(setActionError)
                }
              >
                Show the agent's context
              </button>
            }
          >
            {context ? (
              <pre className="output" tabIndex={0} aria-label="Task context">
                {JSON.stringify(context, null, 2)}
              </pre>
            ) : (
              <Empty>What the agent is given for this task (its inputs, dependencies' outputs and knowledge).</Empty>
            )}
          </Panel>
        </div>
      </div>
    </div>
  );
}
