import { useState, type FormEvent } from "react";
import { createUserWithEmailAndPassword, signInWithEmailAndPassword, type Auth } from "firebase/auth";

const MESSAGES: Record<string, string> = {
  "auth/invalid-credential": "Wrong email or password.",
  "auth/invalid-login-credentials": "Wrong email or password.",
  "auth/user-not-found": "No account with this email.",
  "auth/wrong-password": "Wrong email or password.",
  "auth/email-already-in-use": "An account with this email already exists: sign in instead.",
  "auth/weak-password": "The password needs at least 6 characters.",
  "auth/invalid-email": "This is not a valid email address.",
  "auth/too-many-requests": "Too many attempts: wait a moment and try again.",
  "auth/network-request-failed": "The sign-in service is unreachable.",
};

export function authMessage(code: string): string {
  return MESSAGES[code] ?? `Sign-in failed (${code}).`;
}

export function SignIn({ auth }: { auth: Auth }) {
  const [mode, setMode] = useState<"signin" | "signup">("signin");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "signup") await createUserWithEmailAndPassword(auth, email, password);
      else await signInWithEmailAndPassword(auth, email, password);
    } catch (caught) {
      setError(authMessage((caught as { code?: string }).code ?? "unknown"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin" id="main">
      <h1>AIDE</h1>
      <p className="lead">Watch your AI agents work, live.</p>
      <form onSubmit={submit} aria-labelledby="signin-title" noValidate>
        <h2 id="signin-title">{mode === "signin" ? "Sign in" : "Create an account"}</h2>
        <div className="field">
          <label htmlFor="email">Email</label>
          <input id="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input
            id="password"
            type="password"
            autoComplete={mode === "signin" ? "current-password" : "new-password"}
            required
            minLength={6}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        {error && (
          <p className="banner error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {mode === "signin" ? "Sign in" : "Sign up"}
        </button>
        <p>
          {mode === "signin" ? "No account yet? " : "Already registered? "}
          <button type="button" className="link" onClick={() => setMode(mode === "signin" ? "signup" : "signin")}>
            {mode === "signin" ? "Create one" : "Sign in"}
          </button>
        </p>
      </form>
    </main>
  );
}
