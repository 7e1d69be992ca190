import { useEffect, useMemo, useRef, useState } from "react";
import { getCountFromServer } from "firebase/firestore";
import { Link } from "wouter";
import constants from "../../../shared/constants.json";
import { useLiveQuery } from "../data/listen";
import {
  agentsQuery,
  finishedSinceQuery,
  LIMITS,
  recentTasksQuery,
  tasksWithStatusQuery,
  withStatusQuery,
} from "../data/queries";
import { computeAlerts } from "../logic/alerts";
import { formatBytes, formatNumber, formatRelative, toDate } from "../logic/format";
import { resourceRows, type ResourceRow } from "../logic/resources";
import { formatCount, formatRate, headerStats, startOfDay } from "../logic/stats";
import type { Agent, Task } from "../types";
import { useSession } from "./context";
import { Empty, Panel, Progress, StatusBadge, useNow } from "./ui";

type Plans = Record<string, { concurrentTasks: number }>;

/**
 * Queued tasks and today's completed and failed ones, counted by the server (one read per 1,000
 * matches) rather than listened to document by document: again whenever `signal` changes — a
 * run starting or ending (the live set of running tasks) or a recent task changing status — not
 * on a timer. Every task passes through those listeners on its way to or from these states, so
 * the counts follow without reading a document per task.
 */
function useTaskCounts(uid: string, signal: string, dayStart: number) {
  const { db } = useSession();
  const [counts, setCounts] = useState<{ queued: number | null; completed: number | null; failed: number | null }>({
    queued: null,
    completed: null,
    failed: null,
  });
  useEffect(() => {
    let cancelled = false;
    const since = new Date(dayStart);
    const timer = window.setTimeout(() => {
      Promise.all([
        getCountFromServer(withStatusQuery(db, uid, "queued")),
        getCountFromServer(finishedSinceQuery(db, uid, "completed", since)),
        getCountFromServer(finishedSinceQuery(db, uid, "failed", since)),
      ])
        .then(([queued, completed, failed]) => {
          if (!cancelled) {
            setCounts({ queued: queued.data().count, completed: completed.data().count, failed: failed.data().count });
          }
        })
        .catch(() => undefined);
    }, 150); // a burst of changes (a group finishing a level) is counted once
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [db, uid, signal, dayStart]);
  return counts;
}

export function Dashboard() {
  const { db, user, profile, usage } = useSession();
  const uid = user.uid;
  const now = useNow();
  const dayStart = startOfDay(now).getTime();

  const agents = useLiveQuery<Agent>(agentsQuery(db), "agents");
  const recent = useLiveQuery<Task>(recentTasksQuery(db, uid), `recent:${uid}`);
  const running = useLiveQuery<Task>(tasksWithStatusQuery(db, uid, "in_progress", LIMITS.running), `running:${uid}`);
  const failed = useLiveQuery<Task>(tasksWithStatusQuery(db, uid, "failed", LIMITS.failedAlerts), `failed:${uid}`);
  const signal =
    running.data.map((t) => t.id).sort().join(",") + "|" + recent.data.map((t) => `${t.id}:${t.status}`).join(",");
  const counts = useTaskCounts(uid, signal, dayStart);

  const stats = headerStats({
    runningSize: running.data.length,
    runningLimit: LIMITS.running,
    queued: counts.queued,
    completedToday: counts.completed,
    failedToday: counts.failed,
  });
  const plan = profile?.subscription?.plan ?? "free";
  const concurrency = (constants.plans as Plans)[plan]?.concurrentTasks ?? 0;
  const resources = profile ? resourceRows(profile, usage, running.data.length, concurrency, now) : [];
  const alerts = computeAlerts({ failedTasks: failed.data, runningTasks: running.data, resources, now: now.getTime() });

  // First render with data from the server: a performance mark the benchmarks read.
  const marked = useRef(false);
  const ready = recent.fromServer && running.fromServer && agents.fromServer && profile != null;
  useEffect(() => {
    if (ready && !marked.current) {
      marked.current = true;
      performance.mark("aide:dashboard-ready");
    }
  }, [ready]);

  const currentTask = useMemo(() => {
    const byAgent = new Map<string, Task>();
    for (const task of running.data) if (task.agentId) byAgent.set(task.agentId, task);
    return byAgent;
  }, [running.data]);

  return (
    <div className="dashboard" data-ready={ready ? "true" : "false"}>
      <h1>Dashboard</h1>
      <section className="stats" aria-label="Today">
        <Stat label="Running" value={formatCount(stats.running)} testId="running" />
        <Stat label="Queued" value={formatCount(stats.queued)} testId="queued" />
        <Stat label="Completed today" value={formatCount(stats.completedToday)} testId="completed" />
        <Stat label="Failed today" value={formatCount(stats.failedToday)} testId="failed" />
        <Stat label="Success rate" value={formatRate(stats.successRate)} testId="success-rate" />
      </section>
      <div className="dashboard-grid">
        <Panel title="Agents">
          {agents.error ? <p role="alert">{agents.error.message}</p> : null}
          <ul className="agents">
            {agents.data.map((agent) => {
              const task = currentTask.get(agent.id);
              return (
                <li key={agent.id} data-agent={agent.id}>
                  <span className={`dot agent-${agent.status}`} aria-hidden="true" />
                  <strong>{agent.name}</strong> <span className="muted">{agent.model}</span>{" "}
                  <span className={`badge agent-${agent.status}`}>{agent.status}</span>
                  {task ? (
                    <div className="current">
                      Running <Link href={`/tasks/${task.id}`}>{task.title}</Link>
                    </div>
                  ) : null}
                </li>
              );
            })}
          </ul>
          {!agents.loading && agents.data.length === 0 ? <Empty>No agents.</Empty> : null}
        </Panel>
        <Panel title="Recent tasks" actions={<Link href="/tasks/new">New task</Link>}>
          <RecentTasks tasks={recent.data} loading={recent.loading} />
        </Panel>
        <Panel title="Resources">
          {profile ? <Resources rows={resources} now={now} /> : <p aria-busy="true">Loading…</p>}
        </Panel>
        <Panel title="Alerts">
          {alerts.length === 0 ? (
            <Empty>No alerts.</Empty>
          ) : (
            <ul className="alerts">
              {alerts.map((alert) => (
                <li key={alert.id} className={`alert ${alert.severity}`} data-kind={alert.kind}>
                  {alert.taskId ? <Link href={`/tasks/${alert.taskId}`}>{alert.message}</Link> : alert.message}
                </li>
              ))}
            </ul>
          )}
        </Panel>
      </div>
    </div>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="stat" data-stat={testId}>
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}

function RecentTasks({ tasks, loading }: { tasks: Task[]; loading: boolean }) {
  if (loading) return <p aria-busy="true">Loading…</p>;
  if (!tasks.length) return <Empty>No tasks yet.</Empty>;
  return (
    <ul className="recent">
      {tasks.map((task) => (
        <li key={task.id} data-task={task.id}>
          <Link href={`/tasks/${task.id}`}>{task.title}</Link> <StatusBadge status={task.status} />
          {task.status === "in_progress" ? <Progress value={task.progress ?? 0} label={`Progress of ${task.title}`} /> : null}
        </li>
      ))}
    </ul>
  );
}

function amount(row: ResourceRow, value: number | null): string {
  if (value == null) return "–";
  return row.key === "storageBytes" ? formatBytes(value) : formatNumber(Math.round(value * 10) / 10);
}

function Resources({ rows, now }: { rows: ResourceRow[]; now: Date }) {
  return (
    <table className="resources">
      <caption className="visually-hidden">Usage against quota</caption>
      <thead>
        <tr>
          <th scope="col">Resource</th>
          <th scope="col">Used</th>
          <th scope="col">Limit</th>
          <th scope="col">Resets</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key} data-resource={row.key} className={`level-${row.level}`}>
            <th scope="row">
              {row.label}
              <Progress value={row.fraction ?? 0} label={`${row.label} used`} />
            </th>
            <td>{amount(row, row.used)}</td>
            <td>{amount(row, row.limit)}</td>
            <td>{row.reset ? <time dateTime={row.reset.toISOString()}>{formatRelative(toDate(row.reset), now)}</time> : "–"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
