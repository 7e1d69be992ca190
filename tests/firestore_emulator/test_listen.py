"""Listen through ``on_snapshot``: document, query and collection watches with added,
modified and removed changes, limits, and consistent snapshots."""

from __future__ import annotations

import threading

from google.cloud import firestore

from tests.firestore_emulator.waiting import wait_until


class Recorder:
    """Collects on_snapshot callbacks: (document ids in order, [(change type, id)])."""

    def __init__(self) -> None:
        self.snapshots: list[tuple[list[str], list[tuple[str, str]]]] = []
        self.data: list[dict[str, dict]] = []
        self._lock = threading.Lock()

    def __call__(self, docs, changes, read_time) -> None:
        with self._lock:
            self.snapshots.append(
                ([d.id for d in docs], [(c.type.name, c.document.id) for c in changes])
            )
            self.data.append({d.id: d.to_dict() for d in docs})

    def count(self) -> int:
        with self._lock:
            return len(self.snapshots)

    def wait_for(self, count: int):
        wait_until(lambda: self.count() >= count)
        with self._lock:
            return self.snapshots[count - 1]


def test_document_watch(fs_client):
    ref = fs_client.collection("watched").document("doc")
    ref.set({"v": 1})
    recorder = Recorder()
    watch = ref.on_snapshot(recorder)
    try:
        assert recorder.wait_for(1) == (["doc"], [("ADDED", "doc")])
        ref.update({"v": 2})
        assert recorder.wait_for(2) == (["doc"], [("MODIFIED", "doc")])
        assert recorder.data[1]["doc"] == {"v": 2}
        ref.delete()
        assert recorder.wait_for(3) == ([], [("REMOVED", "doc")])
        ref.set({"v": 3})
        assert recorder.wait_for(4) == (["doc"], [("ADDED", "doc")])
    finally:
        watch.unsubscribe()


def test_query_watch_added_modified_removed(fs_client):
    items = fs_client.collection("items")
    items.document("a").set({"open": True, "rank": 1})
    items.document("closed").set({"open": False, "rank": 0})
    query = items.where(filter=firestore.FieldFilter("open", "==", True)).order_by("rank")
    recorder = Recorder()
    watch = query.on_snapshot(recorder)
    try:
        assert recorder.wait_for(1) == (["a"], [("ADDED", "a")])
        items.document("b").set({"open": True, "rank": 0})
        assert recorder.wait_for(2) == (["b", "a"], [("ADDED", "b")])
        items.document("a").update({"rank": 5})
        assert recorder.wait_for(3) == (["b", "a"], [("MODIFIED", "a")])
        items.document("b").update({"open": False})
        assert recorder.wait_for(4) == (["a"], [("REMOVED", "b")])
        items.document("closed").update({"rank": 9})  # outside the query: no snapshot
        items.document("a").delete()
        assert recorder.wait_for(5) == ([], [("REMOVED", "a")])
        assert recorder.count() == 5
    finally:
        watch.unsubscribe()


def test_query_watch_with_limit(fs_client):
    scores = fs_client.collection("scores")
    for name, points in (("a", 10), ("b", 20), ("c", 30)):
        scores.document(name).set({"points": points})
    # Ascending: google-cloud-firestore 2.x sorts watch results of descending queries
    # ascending on the client (its comparator multiplies by the enum value 2).
    query = scores.order_by("points").limit(2)
    recorder = Recorder()
    watch = query.on_snapshot(recorder)
    try:
        assert recorder.wait_for(1)[0] == ["a", "b"]
        scores.document("d").set({"points": 5})
        docs, changes = recorder.wait_for(2)
        assert docs == ["d", "a"]
        assert sorted(changes) == [("ADDED", "d"), ("REMOVED", "b")]
        scores.document("a").delete()
        docs, changes = recorder.wait_for(3)
        assert docs == ["d", "b"]
        assert sorted(changes) == [("ADDED", "b"), ("REMOVED", "a")]
    finally:
        watch.unsubscribe()


def test_collection_watch_sees_one_snapshot_per_batch(fs_client):
    things = fs_client.collection("batched")
    recorder = Recorder()
    watch = things.on_snapshot(recorder)
    try:
        assert recorder.wait_for(1) == ([], [])
        batch = fs_client.batch()
        for i in range(3):
            batch.set(things.document(f"d{i}"), {"i": i})
        batch.commit()
        docs, changes = recorder.wait_for(2)
        assert docs == ["d0", "d1", "d2"]
        assert sorted(changes) == [("ADDED", "d0"), ("ADDED", "d1"), ("ADDED", "d2")]
    finally:
        watch.unsubscribe()


def test_listener_converges_under_concurrent_writers(firestore_emulator, fs_client):
    events = fs_client.collection("busy")
    recorder = Recorder()
    watch = events.on_snapshot(recorder)

    def writer(thread: int) -> None:
        client = firestore_emulator.client(fs_client.project)
        try:
            for i in range(15):
                client.collection("busy").document(f"w{thread}-{i}").set({"v": i})
                client.collection("busy").document(f"w{thread}-{i}").update({"v": i + 100})
        finally:
            client.close()

    try:
        recorder.wait_for(1)
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        def converged():
            with recorder._lock:
                latest = recorder.data[-1] if recorder.data else {}
            return len(latest) == 60 and all(d["v"] >= 100 for d in latest.values())

        wait_until(converged, timeout=30)
    finally:
        watch.unsubscribe()
