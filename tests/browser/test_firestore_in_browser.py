"""The Firebase JS web SDK in headless Chromium against the local stack: sign-in through the
Auth emulator, reads, live listeners and denials under firestore.rules, over WebChannel and
REST on the Firestore emulator's one public port — in streaming and long-polling modes.

Driven as a frontend developer would: the page uses the SDK (tests/browser/app/entry.js);
tasks are created over HTTP and run by the functions host, and the page watches them."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.firestore import FirestoreEmulator
from emulators.firestore.webchannel import ChannelTimings
from emulators.stack.stack import REPO_ROOT
from tests.fixtures.browser import wait_until
from tests.fixtures.stack import DEFAULT_PASSWORD, AuthUser, PlatformHandle

MODES = ["streaming", "long-polling"]
# An SDK call that hangs instead of failing is a failure: bound every call.
CALL_TIMEOUT_MS = 20_000
TERMINAL = {"completed", "failed", "cancelled"}


class BrowserClient:
    """One page signed in as one user; `call` runs SDK code in the page and returns its
    outcome as data: {"ok": value} or {"error": code, "message": ...}."""

    def __init__(self, page: Any, name: str = "app") -> None:
        self.page = page
        self.name = name
        self.channel_urls: list[str] = []
        self.channel_posts: list[str] = []

        def record(request: Any) -> None:
            if "/channel" in request.url:
                self.channel_urls.append(request.url)
                if request.method == "POST":
                    self.channel_posts.append(request.post_data or "")

        page.on("request", record)

    def open(
        self, project: str, auth_host: str, firestore_host: str, mode: str, user: AuthUser | None
    ) -> Any:
        host, _, port = firestore_host.rpartition(":")
        return self.page.evaluate(
            "([name, options]) => aide.open(name, options)",
            [
                self.name,
                {
                    "projectId": project,
                    "authUrl": f"http://{auth_host}",
                    "host": host,
                    "port": int(port),
                    "mode": mode,
                    "email": user.email if user else None,
                    "password": DEFAULT_PASSWORD,
                },
            ],
        )

    def call(self, body: str, *args: Any) -> dict[str, Any]:
        """``body`` is an async arrow function of (db, fs, ...args)."""
        script = """async ([name, body, args, timeoutMs]) => {
            const fn = eval(body);
            const timeout = new Promise(resolve =>
                setTimeout(() => resolve({error: 'test-timeout'}), timeoutMs));
            return Promise.race([aide.outcome(() => fn(aide.db(name), fs, ...args)), timeout]);
        }"""
        result: dict[str, Any] = self.page.evaluate(
            script, [self.name, body, list(args), CALL_TIMEOUT_MS]
        )
        return result

    def watch(self, key: str, target: str, *args: Any) -> None:
        """``target`` is an arrow function of (db, fs, ...args) giving a reference or query."""
        self.page.evaluate(
            "([name, key, target, args]) =>"
            " aide.watch(key, eval(target)(aide.db(name), fs, ...args))",
            [self.name, key, target, list(args)],
        )

    def log(self, key: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.page.evaluate("key => aide.log(key)", key)
        return result

    def close(self) -> None:
        self.page.evaluate("name => aide.close(name)", self.name)

    def back_channel_modes(self) -> set[str]:
        return {
            "streaming" if "CI=0" in url else "long-polling"
            for url in self.channel_urls
            if "RID=rpc" in url
        }


def create_task(platform: PlatformHandle, user: AuthUser, steps: int, latency: float) -> str:
    body = {
        "title": "Summarise the release",
        "description": "Summarise what changed in this release for the changelog.",
        "agentId": "coder",
        "inputs": {"providerOptions": {"steps": steps, "latency": latency}},
    }
    response = platform.http.post(
        platform.url("tasks", "/"), json=body, headers=user.headers, timeout=60
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["task"]["id"])


def wait_terminal(platform: PlatformHandle, task_id: str) -> None:
    tasks = platform.db.collection("tasks")
    wait_until(
        lambda: (tasks.document(task_id).get().to_dict() or {}).get("status") in TERMINAL,
        90,
        f"task {task_id} to finish",
    )


def last_ok(log: list[dict[str, Any]]) -> dict[str, Any] | None:
    snapshots = [entry for entry in log if "error" not in entry]
    return snapshots[-1] if snapshots else None


@pytest.mark.parametrize("mode", MODES)
def test_reads_counts_transactions_and_denials_through_the_web_sdk(
    platform: PlatformHandle, browser_page: Any, mode: str
) -> None:
    me, other = platform.create_user(), platform.create_user()
    mine = create_task(platform, me, steps=1, latency=0.05)
    theirs = create_task(platform, other, steps=1, latency=0.05)
    client = BrowserClient(browser_page)
    uid = client.open(platform.project, platform.auth_host, platform.firestore_host, mode, me)
    assert uid == me.uid

    got = client.call(
        "async (db, fs, id) => fs.getDoc(fs.doc(db, 'tasks', id)).then(aide.summary)", mine
    )
    assert got["ok"]["exists"] and got["ok"]["data"]["userId"] == me.uid
    assert got["ok"]["fromCache"] is False
    listed = client.call(
        """async (db, fs, uid) => aide.summary(await fs.getDocs(
            fs.query(fs.collection(db, 'tasks'), fs.where('userId', '==', uid))))""",
        me.uid,
    )
    assert [d["id"] for d in listed["ok"]["docs"]] == [mine]

    denied_doc = client.call("async (db, fs, id) => fs.getDoc(fs.doc(db, 'tasks', id))", theirs)
    assert denied_doc["error"] == "permission-denied", denied_doc
    denied_query = client.call(
        """async (db, fs, uid) => fs.getDocs(
            fs.query(fs.collection(db, 'tasks'), fs.where('userId', '==', uid)))""",
        other.uid,
    )
    assert denied_query["error"] == "permission-denied", denied_query
    write = client.call(
        """async (db, fs, uid) =>
            fs.setDoc(fs.doc(db, 'tasks', 'forged'), {userId: uid, status: 'completed'})""",
        me.uid,
    )
    assert write["error"] == "permission-denied", write
    assert not platform.db.collection("tasks").document("forged").get().exists

    count = client.call(
        """async (db, fs, uid) => (await fs.getCountFromServer(
            fs.query(fs.collection(db, 'tasks'), fs.where('userId', '==', uid)))).data().count""",
        me.uid,
    )
    assert count == {"ok": 1}
    denied_count = client.call(
        "async (db, fs) => (await fs.getCountFromServer(fs.collection(db, 'tasks'))).data().count"
    )
    assert denied_count["error"] == "permission-denied", denied_count
    read_only = client.call(
        """async (db, fs, id) => fs.runTransaction(db, async tx =>
            (await tx.get(fs.doc(db, 'tasks', id))).data().userId)""",
        mine,
    )
    assert read_only == {"ok": me.uid}
    client.close()
    assert client.back_channel_modes() == {mode}


@pytest.mark.parametrize("mode", MODES)
def test_live_task_progress_seen_by_listeners_in_the_browser(
    platform: PlatformHandle, browser_page: Any, mode: str
) -> None:
    me = platform.create_user()
    client = BrowserClient(browser_page)
    client.open(platform.project, platform.auth_host, platform.firestore_host, mode, me)
    client.watch(
        "mine",
        "(db, fs, uid) => fs.query(fs.collection(db, 'tasks'), fs.where('userId', '==', uid))",
        me.uid,
    )
    wait_until(lambda: last_ok(client.log("mine")) is not None, 30, "the first query snapshot")
    task_id = create_task(platform, me, steps=3, latency=0.4)
    client.watch("task", "(db, fs, id) => fs.doc(db, 'tasks', id)", task_id)
    client.watch(
        "events",
        """(db, fs, id) =>
            fs.query(fs.collection(db, 'tasks', id, 'events'), fs.orderBy('timestamp'))""",
        task_id,
    )
    wait_terminal(platform, task_id)
    wait_until(
        lambda: (last_ok(client.log("task")) or {}).get("data", {}).get("status") == "completed",
        30,
        "the document listener to see the task completed",
    )

    def event_kinds() -> list[str] | None:
        snapshot = last_ok(client.log("events"))
        kinds = [d["data"]["kind"] for d in snapshot["docs"]] if snapshot else []
        return kinds if "completed" in kinds else None

    events = wait_until(event_kinds, 30, "the events listener to see the completed event")
    assert events[0] == "queued" and events[-1] == "completed" and events.count("step") == 3, events
    timestamps = [d["data"]["timestamp"] for d in last_ok(client.log("events"))["docs"]]  # type: ignore[index]
    assert timestamps == sorted(timestamps, key=lambda t: (t["seconds"], t["nanoseconds"]))

    seen = [
        doc["data"]
        for snapshot in client.log("mine")
        if "error" not in snapshot
        for doc in snapshot["docs"]
        if doc["id"] == task_id
    ]
    statuses = [data["status"] for data in seen]
    compressed = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
    expected = ["queued", "in_progress", "completed"]
    assert [s for s in compressed if s in expected] == expected, statuses
    progress = [data.get("progress", 0) for data in seen if data["status"] == "in_progress"]
    assert any(0 < value < 1 for value in progress), progress
    assert not [
        entry for key in ("mine", "task", "events") for entry in client.log(key) if "error" in entry
    ]
    client.close()
    assert client.back_channel_modes() == {mode}


@pytest.fixture
def restartable_firestore(stack: PlatformHandle) -> Iterator[dict[str, Any]]:
    """A Firestore emulator of its own (short keepalive and session timeouts, the project's
    rules, export on stop) that a test can restart on the same port."""
    state: dict[str, Any] = {
        "timings": ChannelTimings(
            noop_interval_s=1.0, session_timeout_s=4.0, max_backchannel_s=60.0
        ),
        "dir": Path(tempfile.mkdtemp(prefix="firestore-restart-")),
    }

    def start(port: int = 0, imported: bool = False) -> FirestoreEmulator:
        emulator = FirestoreEmulator(
            port=port,
            rules_path=REPO_ROOT / "firestore.rules",
            export_on_exit=state["dir"],
            import_dir=state["dir"] if imported else None,
            channel_timings=state["timings"],
        ).start()
        state["emulator"] = emulator
        return emulator

    state["start"] = start
    start()
    try:
        yield state
    finally:
        state["emulator"].stop()


def admin_client(emulator: FirestoreEmulator, project: str) -> Any:
    from emulators.stack.clients import firestore_client

    return firestore_client(emulator.address, project)


@pytest.mark.parametrize("mode", MODES)
def test_listener_survives_idle_periods_and_an_emulator_restart(
    stack: PlatformHandle, browser_page: Any, restartable_firestore: dict[str, Any], mode: str
) -> None:
    emulator: FirestoreEmulator = restartable_firestore["emulator"]
    me = stack.create_user()
    db = admin_client(emulator, stack.project)
    task = db.collection("tasks").document("watched")
    task.set({"userId": me.uid, "status": "queued"})
    client = BrowserClient(browser_page)
    client.open(stack.project, stack.auth_host, emulator.address, mode, me)
    client.watch("task", "(db, fs) => fs.doc(db, 'tasks', 'watched')")
    wait_until(lambda: last_ok(client.log("task")), 30, "the first snapshot")
    sessions = [s for s in emulator.channels.sessions() if s.rpc == "Listen"]
    assert len(sessions) == 1

    # Idle for longer than the SDK waits on a silent back channel (1.5x the announced keepalive
    # of 2 s) and than the session timeout (4 s): the noops (every 1 s) keep the stream alive.
    time.sleep(4.5)
    task.update({"status": "in_progress"})
    wait_until(
        lambda: (last_ok(client.log("task")) or {}).get("data", {}).get("status") == "in_progress",
        10,
        "the change made after the idle period",
    )
    assert [s.sid for s in emulator.channels.sessions() if s.rpc == "Listen"] == [sessions[0].sid]
    if mode == "streaming":
        assert sessions[0].backchannel_modes == ["streaming"]  # one back channel throughout

    # Restart with persistence: the SDK reconnects and resumes its target with a resume token.
    port = emulator.port
    posts_before = len(client.channel_posts)
    emulator.stop()
    emulator = restartable_firestore["start"](port=port, imported=True)
    db = admin_client(emulator, stack.project)
    db.collection("tasks").document("watched").update({"status": "completed"})
    wait_until(
        lambda: (last_ok(client.log("task")) or {}).get("data", {}).get("status") == "completed",
        60,
        "the listener to reconnect and see the change made after the restart",
    )
    assert any("resumeToken" in post for post in client.channel_posts[posts_before:])
    errors = [entry for entry in client.log("task") if "error" in entry]
    assert not errors, errors
    client.close()


OPEN_RULES = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /scratch/{id} { allow read, write: if true; }
  }
}
"""


def test_writes_transactions_aggregates_cache_and_fetch_streams(browser_page: Any) -> None:
    """What the stack's rules forbid clients (writes), on a project whose rules allow them; with
    the IndexedDB cache and WebChannel over fetch() streams."""
    with FirestoreEmulator() as emulator:
        emulator.set_rules("demo-open", OPEN_RULES)
        db = admin_client(emulator, "demo-open")
        db.collection("scratch").document("a").set({"n": 2})
        db.collection("scratch").document("b").set({"n": 4})
        client = BrowserClient(browser_page)
        browser_page.evaluate(
            "port => aide.open('app', {projectId: 'demo-open', authUrl: 'http://127.0.0.1:9',"
            " host: '127.0.0.1', port, mode: 'streaming', persistent: true, fetchStreams: true})",
            emulator.port,
        )
        aggregate = client.call(
            """async (db, fs) => (await fs.getAggregateFromServer(fs.collection(db, 'scratch'),
                {total: fs.sum('n'), mean: fs.average('n'), count: fs.count()})).data()"""
        )
        assert aggregate == {"ok": {"total": 6, "mean": 3, "count": 2}}
        in_sync = client.call(
            """async (db, fs) => new Promise(resolve => {
                fs.onSnapshot(fs.doc(db, 'scratch/a'), () => {});
                const stop = fs.onSnapshotsInSync(db, () => { stop(); resolve('in sync'); });
            })"""
        )
        assert in_sync == {"ok": "in sync"}
        batch = client.call(
            """async (db, fs) => {
                const batch = fs.writeBatch(db);
                batch.set(fs.doc(db, 'scratch/c'), {n: 1, at: fs.serverTimestamp()});
                batch.update(fs.doc(db, 'scratch/a'), {n: fs.increment(1)});
                batch.delete(fs.doc(db, 'scratch/b'));
                await batch.commit();
            }"""
        )
        assert batch == {"ok": None}
        transaction = client.call(
            """async (db, fs) => fs.runTransaction(db, async tx => {
                const a = await tx.get(fs.doc(db, 'scratch/a'));
                tx.update(a.ref, {n: a.data().n * 10});
                return a.data().n;
            })"""
        )
        assert transaction == {"ok": 3}
        stored = {doc.id: doc.to_dict() for doc in db.collection("scratch").stream()}
        assert stored["a"] == {"n": 30} and "b" not in stored and stored["c"]["n"] == 1
        assert emulator.costs("demo-open")["deletes"] == 1
        cached = client.call(
            "async (db, fs) => (await fs.getDocFromCache(fs.doc(db, 'scratch/a'))).data()"
        )
        assert cached == {"ok": {"n": 30}}
        client.close()
        db.close()
