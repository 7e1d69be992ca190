import { initializeApp } from "firebase/app";
import {
  browserLocalPersistence,
  connectAuthEmulator,
  indexedDBLocalPersistence,
  initializeAuth,
  type Auth,
} from "firebase/auth";
import { connectFirestoreEmulator, initializeFirestore, type Firestore } from "firebase/firestore";
import type { WebConfig } from "./config";

export interface FirebaseHandles {
  auth: Auth;
  db: Firestore;
  projectId: string;
}

export function initFirebase(config: WebConfig): FirebaseHandles {
  const app = initializeApp(config.firebase);
  // initializeAuth without the popup/redirect resolver: email + password only, a smaller bundle.
  const auth = initializeAuth(app, { persistence: [indexedDBLocalPersistence, browserLocalPersistence] });
  const longPolling = new URLSearchParams(window.location.search).has("longPolling");
  const db = initializeFirestore(app, longPolling ? { experimentalForceLongPolling: true } : {});
  if (config.emulators.auth) connectAuthEmulator(auth, config.emulators.auth, { disableWarnings: true });
  if (config.emulators.firestore) {
    connectFirestoreEmulator(db, config.emulators.firestore.host, config.emulators.firestore.port);
  }
  return { auth, db, projectId: config.firebase.projectId! };
}
