import type { FirebaseOptions } from "firebase/app";

/**
 * Where the app's Firebase config comes from:
 * 1. a production build made with VITE_FIREBASE_CONFIG (the project's web-app config as JSON,
 *    from the Firebase console or `firebase apps:sdkconfig web`) has it built in;
 * 2. otherwise `/__/firebase/init.json`, which Firebase Hosting serves for the project the site
 *    is deployed to — and which the local Hosting (emulators/hosting) serves for the demo
 *    project, with an `emulators` section naming the local Auth and Firestore.
 * Only the local init.json has `emulators`: a deployed site never connects to an emulator.
 */
export interface WebConfig {
  firebase: FirebaseOptions;
  emulators: { auth?: string; firestore?: { host: string; port: number } };
}

export class ConfigError extends Error {}

export function parseInitJson(raw: unknown): WebConfig {
  if (raw == null || typeof raw !== "object") throw new ConfigError("Firebase config is not an object");
  const { emulators, ...firebase } = raw as Record<string, unknown>;
  if (typeof firebase.projectId !== "string" || typeof firebase.apiKey !== "string") {
    throw new ConfigError("Firebase config needs projectId and apiKey");
  }
  const config: WebConfig = { firebase: firebase as FirebaseOptions, emulators: {} };
  if (emulators && typeof emulators === "object") {
    const { auth, firestore } = emulators as Record<string, unknown>;
    if (typeof auth === "string" && /^https?:\/\/[^/]+$/.test(auth)) config.emulators.auth = auth;
    if (typeof firestore === "string") {
      const match = /^([^:/]+):(\d+)$/.exec(firestore);
      if (match) config.emulators.firestore = { host: match[1]!, port: Number(match[2]) };
    }
  }
  return config;
}

export async function loadConfig(): Promise<WebConfig> {
  const built = import.meta.env.VITE_FIREBASE_CONFIG as string | undefined;
  if (built) return parseInitJson(JSON.parse(built));
  const response = await fetch("/__/firebase/init.json", { cache: "no-cache" });
  if (!response.ok) throw new ConfigError(`/__/firebase/init.json answered ${response.status}`);
  return parseInitJson(await response.json());
}
