import { useEffect, useRef, useState } from "react";
import type { QueryDocumentSnapshot } from "firebase/firestore";
import { Link, useLocation, useSearch } from "wouter";
import { useLiveQuery } from "../data/listen";
import { agentsQuery, LIMITS, ownProjectsQuery, taskPageQuery, teamProjectsQuery } from "../data/queries";
import { formatTime, statusLabel } from "../logic/format";
import { currentCursor, firstPage, nextPage, pageIndex, previousPage, splitPage, type PageState } from "../logic/paging";
import { filtersKey, filtersToSearch, parseFilters, type TaskFilters } from "../logic/taskFilters";
import { TASK_PRIORITIES, TASK_STATUSES, type Agent, type Project, type Task } from "../types";
import { useSession } from "./context";
import { Empty, Progress, StatusBadge } from "./ui";

export function useProjects(): Project[] {
  const { db, user } = useSession();
  const own = useLiveQuery<Project>(ownProjectsQuery(db, user.uid), `projects:own:${user.uid}`);
  const team = useLiveQuery<Project>(teamProjectsQuery(db, user.uid), `projects:team:${user.uid}`);
  const seen = new Set<string>();
  return [...own.data, ...team.data].filter((p) => (seen.has(p.id) ? false : (seen.add(p.id), true)));
}

export function TaskList() {
  const { db, user } = useSession();
  const search = useSearch();
  const [, navigate] = useLocation();
  const filters = parseFilters(search);
  const key = filtersKey(filters);
  const [paging, setPaging] = useState<PageState<QueryDocumentSnapshot>>(firstPage);
  useEffect(() => setPaging(firstPage()), [key]);
  const cursor = currentCursor(paging);
  const page = useLiveQuery<Task>(
    taskPageQuery(db, user.uid, filters, cursor),
    `tasks:${user.uid}${key}:${cursor?.id ?? ""}:${pageIndex(paging)}`,
  );
  // A further page is first answered from the SDK's cache (only the rows it already holds):
  // until the server confirms it, the page shown stays the last confirmed one.
  const confirmed = useRef<{ data: Task[]; snapshots: QueryDocumentSnapshot[] }>({ data: [], snapshots: [] });
  if (page.fromServer) confirmed.current = { data: page.data, snapshots: page.snapshots };
  const waiting = !page.fromServer && pageIndex(paging) > 0;
  const shown = waiting ? confirmed.current : { data: page.data, snapshots: page.snapshots };
  const { items, hasMore } = splitPage(shown.data, LIMITS.taskPage);
  const agents = useLiveQuery<Agent>(agentsQuery(db), "agents");
  const projects = useProjects();

  function setFilter(change: Partial<TaskFilters>) {
    const next = { ...filters, ...change };
    for (const [k, v] of Object.entries(next)) if (!v) delete (next as Record<string, unknown>)[k];
    navigate(`/tasks${filtersToSearch(next)}`);
  }

  return (
    <div>
      <div className="page-title">
        <h1>Tasks</h1>
        <div className="actions">
          <Link href="/tasks/new" className="button primary">
            New task
          </Link>
          <Link href="/groups/new" className="button">
            New task group
          </Link>
        </div>
      </div>
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <Select label="Status" value={filters.status ?? ""} onChange={(v) => setFilter({ status: v as TaskFilters["status"] })}>
          {TASK_STATUSES.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </Select>
        <Select label="Priority" value={filters.priority ?? ""} onChange={(v) => setFilter({ priority: v as TaskFilters["priority"] })}>
          {TASK_PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </Select>
        <Select label="Agent" value={filters.agentId ?? ""} onChange={(v) => setFilter({ agentId: v })}>
          {agents.data.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </Select>
        <Select label="Project" value={filters.projectId ?? ""} onChange={(v) => setFilter({ projectId: v })}>
          {projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </Select>
      </form>
      {page.error ? (
        <p className="banner error" role="alert">
          {page.error.message}
        </p>
      ) : null}
      <table className="tasks" data-from-server={page.fromServer ? "true" : "false"} aria-busy={waiting}>
        <caption className="visually-hidden">Tasks, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Title</th>
            <th scope="col">Status</th>
            <th scope="col">Priority</th>
            <th scope="col">Agent</th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {items.map((task) => (
            <tr key={task.id} data-task={task.id}>
              <td>
                <Link href={`/tasks/${task.id}`}>{task.title}</Link>
              </td>
              <td>
                <StatusBadge status={task.status} />
              </td>
              <td>{task.priority}</td>
              <td>{task.agentId ?? "–"}</td>
              <td>
                <Progress value={task.progress ?? 0} label={`Progress of ${task.title}`} />
              </td>
              <td>{formatTime(task.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!page.loading && items.length === 0 ? <Empty>No tasks match.</Empty> : null}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={pageIndex(paging) === 0} onClick={() => setPaging(previousPage(paging))}>
          Previous
        </button>
        <span>Page {pageIndex(paging) + 1}</span>
        <button
          type="button"
          disabled={!hasMore || !page.fromServer}
          onClick={() => {
            const last = shown.snapshots[LIMITS.taskPage - 1];
            if (last) setPaging(nextPage(paging, last));
          }}
        >
          Next
        </button>
      </nav>
    </div>
  );
}

function Select({
  label,
  value,
  onChange,
  children,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  children: React.ReactNode;
}) {
  const id = `filter-${label.toLowerCase()}`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Any</option>
        {children}
      </select>
    </div>
  );
}
