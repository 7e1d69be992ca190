import { Link } from "wouter";
import { useLiveQuery } from "../data/listen";
import { groupsQuery } from "../data/queries";
import { formatTime } from "../logic/format";
import type { TaskGroup } from "../types";
import { useSession } from "./context";
import { Empty, Progress, StatusBadge } from "./ui";

/** The user's task groups, newest first. There is no GET /task_groups list endpoint: the list is
 * a Firestore listener on task_groups where userId == me (rules and index allow it). */
export function GroupList() {
  const { db, user } = useSession();
  const groups = useLiveQuery<TaskGroup>(groupsQuery(db, user.uid), `groups:${user.uid}`);
  return (
    <div>
      <div className="page-title">
        <h1>Task groups</h1>
        <div className="actions">
          <Link href="/groups/new" className="button primary">
            New task group
          </Link>
        </div>
      </div>
      {groups.error ? <p role="alert">{groups.error.message}</p> : null}
      <table>
        <caption className="visually-hidden">Task groups, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Tasks</th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {groups.data.map((g) => (
            <tr key={g.id} data-group={g.id}>
              <td>
                <Link href={`/groups/${g.id}`}>{g.name || g.id}</Link>
              </td>
              <td>
                <StatusBadge status={g.status} />
              </td>
              <td>{g.tasks?.length ?? 0}</td>
              <td>
                <Progress value={g.progress ?? 0} label={`Progress of ${g.name || g.id}`} />
              </td>
              <td>{formatTime(g.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!groups.loading && groups.data.length === 0 ? <Empty>No task groups yet.</Empty> : null}
    </div>
  );
}
