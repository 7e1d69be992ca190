import { useEffect, useState } from "react";
import {
  onSnapshot,
  type DocumentReference,
  type FirestoreError,
  type Query,
  type QueryDocumentSnapshot,
} from "firebase/firestore";

declare global {
  interface Window {
    __aideSnapshots?: { key: string; at: number }[];
  }
}

export interface Live<T> {
  data: T;
  loading: boolean;
  error: FirestoreError | null;
  /** Whether the latest snapshot came from the server (not only the local cache). */
  fromServer: boolean;
}

/** Every document of a live query, with its id; `key` names the query (a new key resubscribes).
 *  A null query listens to nothing. Only the documents a snapshot changed are converted again:
 *  the others keep their object (so memoised rows skip them), which keeps a 1,000-document
 *  listener cheap when one task changes. */
export function useLiveQuery<T extends { id: string }>(
  query: Query | null,
  key: string,
): Live<T[]> & { snapshots: QueryDocumentSnapshot[] } {
  const [state, setState] = useState<Live<T[]> & { snapshots: QueryDocumentSnapshot[] }>({
    data: [],
    snapshots: [],
    loading: query != null,
    error: null,
    fromServer: false,
  });
  useEffect(() => {
    if (!query) {
      setState({ data: [], snapshots: [], loading: false, error: null, fromServer: false });
      return;
    }
    setState((previous) => ({ ...previous, loading: true, error: null }));
    const objects = new Map<string, T>();
    return onSnapshot(
      query,
      // Metadata changes too: a query answered from the cache first (a screen opened again)
      // learns that the server confirmed it only through a metadata-only snapshot.
      { includeMetadataChanges: true },
      (snapshot) => {
        // Benchmarks set this array to see when snapshots arrive (epoch ms, query key).
        window.__aideSnapshots?.push({ key, at: performance.timeOrigin + performance.now() });
        for (const change of snapshot.docChanges()) {
          if (change.type === "removed") objects.delete(change.doc.id);
          else objects.set(change.doc.id, { ...(change.doc.data() as Omit<T, "id">), id: change.doc.id } as T);
        }
        setState({
          data: snapshot.docs.map((doc) => objects.get(doc.id)!),
          snapshots: snapshot.docs,
          loading: false,
          error: null,
          fromServer: !snapshot.metadata.fromCache,
        });
      },
      (error) => setState({ data: [], snapshots: [], loading: false, error, fromServer: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` identifies `query`
  }, [key]);
  return state;
}

/** One live document (null while missing). */
export function useLiveDoc<T>(ref: DocumentReference | null, key: string): Live<T | null> {
  const [state, setState] = useState<Live<T | null>>({
    data: null,
    loading: ref != null,
    error: null,
    fromServer: false,
  });
  useEffect(() => {
    if (!ref) {
      setState({ data: null, loading: false, error: null, fromServer: false });
      return;
    }
    setState((previous) => ({ ...previous, loading: true, error: null }));
    return onSnapshot(
      ref,
      { includeMetadataChanges: true },
      (snapshot) =>
        setState({
          data: snapshot.exists() ? ({ ...snapshot.data(), id: snapshot.id } as T) : null,
          loading: false,
          error: null,
          fromServer: !snapshot.metadata.fromCache,
        }),
      (error) => setState({ data: null, loading: false, error, fromServer: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` identifies `ref`
  }, [key]);
  return state;
}
