import { useCallback, useEffect, useState, type FormEvent } from "react";
import { ApiError, newIdempotencyKey } from "../api";
import { fieldErrors, unplacedErrors, type FieldErrors } from "../logic/fieldErrors";
import { formatTime } from "../logic/format";
import type { ApiKeyView } from "../types";
import { useSession } from "./context";
import { Banner, Empty, ErrorText, Field, Panel } from "./ui";

const RESOURCES = ["tasks", "task_groups", "projects", "agents", "users", "knowledge"];

/** API keys are server-only documents (no client may read them, not even their owner): this
 * screen uses GET /api_keys, again after each create and revoke it makes. */
export function ApiKeys() {
  const { profile } = useSession();
  if (!profile) return <p aria-busy="true">Loading…</p>;
  if (profile.role !== "developer" && profile.role !== "admin") {
    return (
      <div>
        <h1>API keys</h1>
        <p className="banner warning" data-role-required>
          API keys need the developer role; your account has the {profile.role ?? "user"} role. An administrator
          can change it.
        </p>
      </div>
    );
  }
  return <ApiKeysOfDeveloper />;
}

function ApiKeysOfDeveloper() {
  const { api } = useSession();
  const [keys, setKeys] = useState<ApiKeyView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["tasks:read"]);
  const [expiresAt, setExpiresAt] = useState("");
  const [issued, setIssued] = useState<{ key: string; name: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => {
    api
      .get<{ apiKeys: ApiKeyView[] }>("/api_keys")
      .then((data) => setKeys(data.apiKeys))
      .catch(setError);
  }, [api]);
  useEffect(load, [load]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setErrors({});
    try {
      const body = { name, scopes, ...(expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {}) };
      const result = await api.create<{ apiKey: ApiKeyView; key: string }>("/api_keys", body, newIdempotencyKey());
      setIssued({ key: result.key, name: result.apiKey.name });
      setName("");
      load();
    } catch (caught) {
      if (caught instanceof ApiError) setErrors(fieldErrors(caught.body));
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  async function revoke(key: ApiKeyView) {
    if (!window.confirm(`Revoke the key "${key.name}"? Clients using it stop working at once.`)) return;
    try {
      await api.delete(`/api_keys/${key.id}`);
      load();
    } catch (caught) {
      setError(caught);
    }
  }

  function toggle(scope: string) {
    setScopes(scopes.includes(scope) ? scopes.filter((s) => s !== scope) : [...scopes, scope]);
  }

  return (
    <div>
      <h1>API keys</h1>
      <Banner error={error} />
      {issued ? (
        <div className="banner success" role="status" data-issued-key>
          <p>
            The key <strong>{issued.name}</strong> is shown this once: copy it now.
          </p>
          <code className="secret">{issued.key}</code>{" "}
          <button type="button" onClick={() => navigator.clipboard?.writeText(issued.key)}>
            Copy
          </button>{" "}
          <button type="button" onClick={() => setIssued(null)}>
            Done
          </button>
        </div>
      ) : null}
      <div className="detail-grid">
        <Panel title="Your keys">
          {keys && keys.length === 0 ? <Empty>No API keys.</Empty> : null}
          {keys && keys.length > 0 ? (
            <table className="keys">
              <caption className="visually-hidden">API keys, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Last used</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {keys.map((key) => (
                  <tr key={key.id} data-key={key.id} data-revoked={key.revokedAt ? "true" : "false"}>
                    <td>{key.name}</td>
                    <td>
                      <code>{key.prefix}…</code>
                    </td>
                    <td>{key.scopes.join(", ")}</td>
                    <td>{formatTime(key.lastUsedAt)}</td>
                    <td>
                      {key.revokedAt ? (
                        `revoked ${formatTime(key.revokedAt)}`
                      ) : (
                        <button type="button" className="danger" onClick={() => revoke(key)}>
                          Revoke {key.name}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </Panel>
        <Panel title="New key">
          <form onSubmit={create} noValidate aria-label="New API key">
            <ErrorText messages={unplacedErrors(errors, ["name", "scopes", "expiresAt"])} />
            <Field label="Name" name="name" errors={errors} hint="3 to 50 characters">
              {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
            </Field>
            <fieldset>
              <legend>Scopes</legend>
              {RESOURCES.map((resource) => (
                <div key={resource} className="scope-row">
                  <span>{resource}</span>
                  {["read", "write"].map((action) => {
                    const scope = `${resource}:${action}`;
                    return (
                      <label key={scope}>
                        <input type="checkbox" checked={scopes.includes(scope)} onChange={() => toggle(scope)} /> {action}
                        <span className="visually-hidden"> {resource}</span>
                      </label>
                    );
                  })}
                </div>
              ))}
              <ErrorText messages={errors.scopes ?? []} />
            </fieldset>
            <Field label="Expires (optional)" name="expiresAt" errors={errors}>
              {(p) => <input {...p} type="datetime-local" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} />}
            </Field>
            <button type="submit" className="primary" disabled={busy}>
              Create key
            </button>
          </form>
        </Panel>
      </div>
    </div>
  );
}
