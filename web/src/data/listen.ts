import { useEffect, useState } from "react";
import {
  onSnapshot,
  type DocumentReference,
  type FirestoreError,
  type Query,
  type QueryDocumentSnapshot,
} from "firebase/firestore";

export interface Live<T> {
  data: T;
  loading: boolean;
  error: FirestoreError | null;
  /** Whether the latest snapshot came from the server (not only the local cache). */
  fromServer: boolean;
}

/** Every document of a live query, with its id; `key` names the query (a new key resubscribes).
 *  A null query listens to nothing. */
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
    return onSnapshot(
      query,
      { includeMetadataChanges: false },
      (snapshot) =>
        setState({
          data: snapshot.docs.map((doc) => ({ ...(doc.data() as Omit<T, "id">), id: doc.id }) as T),
          snapshots: snapshot.docs,
          loading: false,
          error: null,
          fromServer: !snapshot.metadata.fromCache,
        }),
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
