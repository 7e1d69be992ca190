import { useEffect, useId, useState, type ReactNode } from "react";
import { ApiError } from "../api";
import { errorsFor, type FieldErrors } from "../logic/fieldErrors";
import { statusLabel } from "../logic/format";

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{statusLabel(status)}</span>;
}

export function Progress({ value, label }: { value: number; label: string }) {
  const percent = Math.max(0, Math.min(100, Math.round(value * 100)));
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
      <div className="progress-bar" style={{ width: `${percent}%` }} />
    </div>
  );
}

export function Panel({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const id = useId();
  return (
    <section className="panel" aria-labelledby={id}>
      <header className="panel-header">
        <h2 id={id}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function ErrorText({ messages }: { messages: string[] }) {
  if (!messages.length) return null;
  return (
    <ul className="field-errors" role="alert">
      {messages.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

/** A labelled input with the API's messages for its field underneath. */
export function Field({
  label,
  name,
  errors,
  children,
  hint,
}: {
  label: string;
  name: string;
  errors: FieldErrors;
  children: (props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string; name: string }) => ReactNode;
  hint?: string;
}) {
  const id = useId();
  const messages = errorsFor(errors, name);
  const describedBy = [hint ? `${id}-hint` : "", messages.length ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className={`field${messages.length ? " invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": messages.length > 0, "aria-describedby": describedBy || undefined, name })}
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {messages.length > 0 && (
        <div id={`${id}-error`} className="field-error" data-field={name}>
          {messages.join("; ")}
        </div>
      )}
    </div>
  );
}

export function Banner({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof ApiError ? `${error.body.message} (${error.code})` : String((error as Error).message ?? error);
  return (
    <div className="banner error" role="alert">
      {message}
    </div>
  );
}

/** A clock for relative times and staleness, ticking every `ms` (no data is fetched). */
export function useNow(ms = 10_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(new Date()), ms);
    return () => window.clearInterval(timer);
  }, [ms]);
  return now;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}
