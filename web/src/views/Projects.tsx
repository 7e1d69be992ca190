import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { ApiError, newIdempotencyKey } from "../api";
import { fieldErrors, unplacedErrors, type FieldErrors } from "../logic/fieldErrors";
import type { Project } from "../types";
import { useSession } from "./context";
import { useProjects } from "./TaskList";
import { Banner, Empty, ErrorText, Field, Panel } from "./ui";

export function Projects() {
  const { api, user } = useSession();
  const projects = useProjects();
  const [form, setForm] = useState({ name: "", description: "", visibility: "private" });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function create(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setError(null);
    try {
      await api.create(
        "/projects",
        { name: form.name, visibility: form.visibility, ...(form.description ? { description: form.description } : {}) },
        newIdempotencyKey(),
      );
      setForm({ name: "", description: "", visibility: "private" });
    } catch (caught) {
      if (caught instanceof ApiError) setErrors(fieldErrors(caught.body));
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div>
      <h1>Projects</h1>
      <p className="muted">
        Team members are added by user id. Yours is <code data-my-uid>{user.uid}</code>.
      </p>
      <div className="detail-grid">
        <Panel title="Your projects">
          {projects.length === 0 ? <Empty>No projects yet.</Empty> : null}
          <ul className="projects">
            {projects.map((p) => (
              <ProjectItem key={p.id} project={p} owner={p.userId === user.uid} />
            ))}
          </ul>
        </Panel>
        <Panel title="New project">
          <form onSubmit={create} noValidate aria-label="New project">
            <Banner error={error} />
            <ErrorText messages={unplacedErrors(errors, ["name", "description", "visibility"])} />
            <Field label="Name" name="name" errors={errors} hint="3 to 100 characters">
              {(p) => <input {...p} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}
            </Field>
            <Field label="Description" name="description" errors={errors}>
              {(p) => <textarea {...p} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />}
            </Field>
            <Field label="Visibility" name="visibility" errors={errors}>
              {(p) => (
                <select {...p} value={form.visibility} onChange={(e) => setForm({ ...form, visibility: e.target.value })}>
                  <option value="private">Private</option>
                  <option value="team">Team (members can read its tasks)</option>
                </select>
              )}
            </Field>
            <button type="submit" className="primary" disabled={busy}>
              Create project
            </button>
          </form>
        </Panel>
      </div>
    </div>
  );
}

function ProjectItem({ project, owner }: { project: Project; owner: boolean }) {
  const { api, user } = useSession();
  const [uid, setUid] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [errors, setErrors] = useState<FieldErrors>({});

  async function call(action: () => Promise<unknown>) {
    setError(null);
    setErrors({});
    try {
      await action();
      setUid("");
    } catch (caught) {
      if (caught instanceof ApiError) setErrors(fieldErrors(caught.body));
      setError(caught);
    }
  }

  return (
    <li data-project={project.id}>
      <strong>{project.name}</strong> <span className="badge">{project.visibility}</span>
      {!owner ? <span className="muted"> (member)</span> : null}
      {project.description ? <p>{project.description}</p> : null}
      <p>
        <Link href={`/tasks?project=${encodeURIComponent(project.id)}`}>Tasks of this project</Link>
      </p>
      {project.visibility === "team" ? (
        <div className="members">
          <h3>Members</h3>
          <ul>
            {(project.memberIds ?? []).map((member) => (
              <li key={member}>
                <code>{member}</code>
                {owner || member === user.uid ? (
                  <button
                    type="button"
                    className="link"
                    onClick={() => call(() => api.delete(`/projects/${project.id}/members/${encodeURIComponent(member)}`))}
                  >
                    Remove {member === user.uid ? "me" : member}
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
          {owner ? (
            <form
              className="inline"
              noValidate
              onSubmit={(e) => {
                e.preventDefault();
                void call(() => api.post(`/projects/${project.id}/members`, { uid }));
              }}
            >
              <Field label="Add a member (user id)" name="uid" errors={errors}>
                {(p) => <input {...p} value={uid} onChange={(e) => setUid(e.target.value)} />}
              </Field>
              <button type="submit">Add member</button>
            </form>
          ) : null}
          <Banner error={error} />
        </div>
      ) : null}
    </li>
  );
}
