// The Firebase JS web SDK as a page uses it, exposed to the browser tests (tests/browser/).
// Built with esbuild into bundle.js at test set-up; tests drive it through window.aide and
// window.fs (the firebase/firestore module) with Playwright.
import { deleteApp, initializeApp } from 'firebase/app';
import { connectAuthEmulator, getAuth, signInWithEmailAndPassword } from 'firebase/auth';
import * as fs from 'firebase/firestore';

const clients = {};
const logs = {};
const unsubscribes = {};

// Timestamps and other SDK classes as plain JSON, so Playwright can hand them back.
const plain = value => JSON.parse(JSON.stringify(value === undefined ? null : value));

function summary(snapshot) {
  // `at`: arrival time in ms since the epoch, comparable with the test process's clock.
  const metadata = {
    fromCache: snapshot.metadata.fromCache,
    at: performance.timeOrigin + performance.now(),
  };
  if ('docs' in snapshot) {
    return {
      ...metadata,
      docs: snapshot.docs.map(d => ({ id: d.id, data: plain(d.data()) })),
      changes: snapshot.docChanges().map(c => ({ type: c.type, id: c.doc.id })),
    };
  }
  return {
    ...metadata,
    id: snapshot.id,
    exists: snapshot.exists(),
    data: snapshot.exists() ? plain(snapshot.data()) : null,
  };
}

window.fs = fs;
window.aide = {
  // A named app signed in as `email` (or anonymous when email is null), talking to the
  // emulators in `mode`: "streaming" (WebChannel streaming back channel) or "long-polling".
  // `persistent`: IndexedDB cache (multi-tab); `fetchStreams`: WebChannel over fetch().
  async open(name, { projectId, authUrl, host, port, mode, email, password, persistent, fetchStreams }) {
    const app = initializeApp({ apiKey: 'fake-api-key', projectId }, name);
    const auth = getAuth(app);
    connectAuthEmulator(auth, authUrl, { disableWarnings: true });
    let uid = null;
    if (email) {
      uid = (await signInWithEmailAndPassword(auth, email, password)).user.uid;
    }
    const settings =
      mode === 'long-polling'
        ? { experimentalForceLongPolling: true }
        : { experimentalAutoDetectLongPolling: false };
    if (persistent) {
      settings.localCache = fs.persistentLocalCache({
        tabManager: fs.persistentMultipleTabManager(),
      });
    }
    if (fetchStreams) {
      settings.useFetchStreams = true;
    }
    const db = fs.initializeFirestore(app, settings);
    fs.connectFirestoreEmulator(db, host, port);
    clients[name] = { app, auth, db };
    return uid;
  },
  db(name) {
    return clients[name].db;
  },
  async close(name) {
    const client = clients[name];
    if (!client) return;
    delete clients[name];
    await fs.terminate(client.db);
    await deleteApp(client.app);
  },
  // Records every snapshot (or the error) of a document or query under `key`.
  watch(key, target) {
    logs[key] = [];
    unsubscribes[key] = fs.onSnapshot(
      target,
      snapshot => logs[key].push(summary(snapshot)),
      error => logs[key].push({ error: error.code, message: error.message }),
    );
  },
  unwatch(key) {
    if (unsubscribes[key]) unsubscribes[key]();
    delete unsubscribes[key];
  },
  log(key) {
    return logs[key] || [];
  },
  // Runs `fn` and reports its outcome as data: {ok: value} or {error: code, message}.
  async outcome(fn) {
    try {
      return { ok: plain(await fn()) };
    } catch (error) {
      return { error: error.code || String(error), message: error.message };
    }
  },
  summary,
};
document.getElementById('status').textContent = 'ready';
