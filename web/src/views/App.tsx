import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { onIdTokenChanged, signOut, type User } from "firebase/auth";
import { Link, Redirect, Route, Switch, useLocation } from "wouter";
import { Api } from "../api";
import type { FirebaseHandles } from "../firebase";
import { useLiveDoc } from "../data/listen";
import { userDoc } from "../data/queries";
import { effectiveTheme } from "../logic/theme";
import type { Theme, UsageReport, UserDoc } from "../types";
import { SessionContext, type Session } from "./context";
import { Dashboard } from "./Dashboard";
import { SignIn } from "./SignIn";
import { TaskList } from "./TaskList";
import { NewTask, NewGroup } from "./TaskForms";
import { TaskDetail } from "./TaskDetail";
import { GroupList } from "./GroupList";
import { Projects } from "./Projects";
import { ApiKeys } from "./ApiKeys";

const USAGE_PATH = "/users/me/usage";

// The group screen carries the graph library (cytoscape + dagre): loaded when first opened.
const GroupView = lazy(() => import("./GroupView"));

function usePrefersDark(): boolean {
  const media = useMemo(() => window.matchMedia?.("(prefers-color-scheme: dark)"), []);
  const [dark, setDark] = useState(media?.matches ?? false);
  useEffect(() => {
    if (!media) return;
    const listener = (event: MediaQueryListEvent) => setDark(event.matches);
    media.addEventListener("change", listener);
    return () => media.removeEventListener("change", listener);
  }, [media]);
  return dark;
}

export function App({ firebase }: { firebase: FirebaseHandles }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  useEffect(() => onIdTokenChanged(firebase.auth, setUser), [firebase.auth]);
  const prefersDark = usePrefersDark();
  const [themeOverride, setThemeOverride] = useState<Theme | undefined>(undefined);
  const theme = effectiveTheme(themeOverride, prefersDark);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  if (user === undefined) {
    return (
      <main className="loading" aria-busy="true">
        Loading…
      </main>
    );
  }
  if (user === null) return <SignIn auth={firebase.auth} />;
  return <SignedIn firebase={firebase} user={user} onTheme={setThemeOverride} />;
}

function SignedIn({
  firebase,
  user,
  onTheme,
}: {
  firebase: FirebaseHandles;
  user: User;
  onTheme: (theme: Theme | undefined) => void;
}) {
  const api = useMemo(() => new Api(() => user.getIdToken()), [user]);
  const [usage, setUsage] = useState<UsageReport | null>(null);
  const [provisioned, setProvisioned] = useState(false);
  const [provisionError, setProvisionError] = useState<unknown>(null);

  const refreshUsage = useCallback(() => {
    api
      .get<UsageReport>(USAGE_PATH)
      .then(setUsage)
      .catch(() => undefined);
  }, [api]);

  // The first authenticated call provisions users/{uid} (plan and quotas); the live user
  // document is listened to once it exists.
  useEffect(() => {
    let cancelled = false;
    api
      .get("/users/me")
      .then(() => {
        if (!cancelled) setProvisioned(true);
        refreshUsage();
      })
      .catch((error: unknown) => !cancelled && setProvisionError(error));
    return () => {
      cancelled = true;
    };
  }, [api, refreshUsage]);

  useEffect(() => {
    // Each UI action is an API call: refresh today's API-call usage after them (debounced).
    let timer: number | undefined;
    api.onCall = (method, path) => {
      // Not after the refresh itself (that would poll), nor after the first GET /users/me,
      // which is followed by a refresh of its own.
      if (path === USAGE_PATH || (method === "GET" && path === "/users/me")) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(refreshUsage, 1000);
    };
    return () => {
      api.onCall = null;
      window.clearTimeout(timer);
    };
  }, [api, refreshUsage]);

  const profile = useLiveDoc<UserDoc>(provisioned ? userDoc(firebase.db, user.uid) : null, `user:${user.uid}:${provisioned}`);
  useEffect(() => onTheme(profile.data?.preferences?.theme), [profile.data?.preferences?.theme, onTheme]);

  const session: Session = {
    auth: firebase.auth,
    db: firebase.db,
    api,
    user,
    profile: profile.data,
    usage,
    refreshUsage,
  };
  return (
    <SessionContext.Provider value={session}>
      <Layout provisionError={provisionError} />
    </SessionContext.Provider>
  );
}

const NAV = [
  ["/", "Dashboard"],
  ["/tasks", "Tasks"],
  ["/groups", "Task groups"],
  ["/projects", "Projects"],
  ["/keys", "API keys"],
] as const;

function Layout({ provisionError }: { provisionError: unknown }) {
  const [location] = useLocation();
  return (
    <SessionContext.Consumer>
      {(session) => (
        <div className="shell">
          <a className="skip-link" href="#main">
            Skip to content
          </a>
          <header className="topbar">
            <span className="brand">AIDE</span>
            <nav aria-label="Main">
              <ul>
                {NAV.map(([href, label]) => {
                  const current = href === "/" ? location === "/" : location.startsWith(href);
                  return (
                    <li key={href}>
                      <Link href={href} aria-current={current ? "page" : undefined}>
                        {label}
                      </Link>
                    </li>
                  );
                })}
              </ul>
            </nav>
            <div className="account">
              <ThemeSwitch />
              <span className="email" title={session!.user.uid}>
                {session!.user.email}
              </span>
              <button type="button" onClick={() => signOut(session!.auth)}>
                Sign out
              </button>
            </div>
          </header>
          <main id="main" tabIndex={-1}>
            {provisionError ? (
              <div className="banner error" role="alert">
                Your account could not be loaded: {String((provisionError as Error).message)}
              </div>
            ) : null}
            <Suspense fallback={<p aria-busy="true">Loading…</p>}>
              <Switch>
                <Route path="/" component={Dashboard} />
                <Route path="/tasks" component={TaskList} />
                <Route path="/tasks/new" component={NewTask} />
                <Route path="/tasks/:id">{(params) => <TaskDetail id={params.id} />}</Route>
                <Route path="/groups" component={GroupList} />
                <Route path="/groups/new" component={NewGroup} />
                <Route path="/groups/:id">{(params) => <GroupView id={params.id} />}</Route>
                <Route path="/projects" component={Projects} />
                <Route path="/keys" component={ApiKeys} />
                <Route path="/signin">
                  <Redirect to="/" />
                </Route>
                <Route>
                  <h1>Page not found</h1>
                  <p>
                    <Link href="/">Back to the dashboard</Link>
                  </p>
                </Route>
              </Switch>
            </Suspense>
          </main>
        </div>
      )}
    </SessionContext.Consumer>
  );
}

function ThemeSwitch() {
  return (
    <SessionContext.Consumer>
      {(session) => {
        const current = session?.profile?.preferences?.theme ?? "system";
        return (
          <label className="theme-switch">
            <span className="visually-hidden">Theme</span>
            <select
              value={current}
              onChange={(event) =>
                session?.api.patch("/users/me", { preferences: { theme: event.target.value } }).catch(() => undefined)
              }
            >
              <option value="system">System theme</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
        );
      }}
    </SessionContext.Consumer>
  );
}
