// The Firebase JS SDK in Node (its gRPC transport) writing through the emulator under rules:
// setDoc, updateDoc, a read-write transaction, a denied write. Prints one JSON line of outcomes.
// Usage: node web_sdk_grpc.mjs <projectId> <authHost:port> <firestoreHost:port> <email> <password>
import { initializeApp } from 'firebase/app';
import { connectAuthEmulator, getAuth, signInWithEmailAndPassword } from 'firebase/auth';
import {
  connectFirestoreEmulator,
  doc,
  getDoc,
  increment,
  initializeFirestore,
  runTransaction,
  setDoc,
  terminate,
  updateDoc,
} from 'firebase/firestore';

const [projectId, authHost, firestoreHost, email, password] = process.argv.slice(2);
const app = initializeApp({ apiKey: 'fake-api-key', projectId });
const auth = getAuth(app);
connectAuthEmulator(auth, `http://${authHost}`, { disableWarnings: true });
const { uid } = (await signInWithEmailAndPassword(auth, email, password)).user;
const db = initializeFirestore(app, {});
const [host, port] = firestoreHost.split(':');
connectFirestoreEmulator(db, host, Number(port));

const outcome = async fn => {
  try {
    return { ok: (await fn()) ?? null };
  } catch (error) {
    return { error: error.code || String(error) };
  }
};
const mine = doc(db, 'notes', uid);
const result = { uid };
result.set = await outcome(() => setDoc(mine, { owner: uid, n: 1 }));
result.update = await outcome(() => updateDoc(mine, { n: increment(1), title: 'updated' }));
result.transaction = await outcome(() =>
  runTransaction(db, async tx => {
    const n = (await tx.get(mine)).data().n;
    tx.update(mine, { n: n * 10 });
    return n;
  }),
);
result.read = await outcome(async () => (await getDoc(mine)).data());
result.denied = await outcome(() => setDoc(doc(db, 'notes', 'someone-else'), { owner: uid }));
console.log(JSON.stringify(result));
await terminate(db);
process.exit(0);
