import { createContext, useContext } from "react";
import type { User } from "firebase/auth";
import type { Firestore } from "firebase/firestore";
import type { Auth } from "firebase/auth";
import type { Api } from "../api";
import type { UsageReport, UserDoc } from "../types";

export interface Session {
  auth: Auth;
  db: Firestore;
  api: Api;
  user: User;
  profile: UserDoc | null;
  usage: UsageReport | null;
  refreshUsage: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in session");
  return session;
}
