"""The HTTP/1.1 side of the emulator's public port, request by request: REST calls, CORS and
the WebChannel v8 wire format, as the Firebase JS SDK in a browser uses them. (The same paths
through the real SDK in Chromium: tests/browser/.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests

from emulators.firestore import FirestoreEmulator
from emulators.firestore.rules.testing import id_token
from emulators.firestore.webchannel import ChannelTimings

pytestmark = pytest.mark.ours_only

RULES = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /notes/{noteId} {
      allow read: if request.auth != null && resource.data.owner == request.auth.uid;
      allow create: if request.auth != null && request.resource.data.owner == request.auth.uid;
    }
  }
}
"""
ORIGIN = "http://127.0.0.1:5173"


@pytest.fixture
def emulator() -> Iterator[FirestoreEmulator]:
    timings = ChannelTimings(noop_interval_s=0.5, session_timeout_s=1.5, max_backchannel_s=3.0)
    with FirestoreEmulator(channel_timings=timings) as running:
        yield running


@pytest.fixture
def project(emulator: FirestoreEmulator) -> str:
    emulator.set_rules("demo-web", RULES)
    return "demo-web"


def base(emulator: FirestoreEmulator) -> str:
    return f"http://{emulator.address}"


def database(project: str) -> str:
    return f"projects/{project}/databases/(default)"


def doc_name(project: str, path: str) -> str:
    return f"{database(project)}/documents/{path}"


def auth(uid: str, project: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid, project)}", "Origin": ORIGIN}


def rest(emulator: FirestoreEmulator, path: str, body: Any, headers: dict[str, str]) -> Any:
    return requests.post(
        f"{base(emulator)}/v1/{path}", data=json.dumps(body), headers=headers, timeout=10
    )


def seed(emulator: FirestoreEmulator, project: str, path: str, data: dict[str, Any]) -> None:
    fields = {key: {"stringValue": value} for key, value in data.items()}
    response = rest(
        emulator,
        f"{database(project)}/documents:commit",
        {"writes": [{"update": {"name": doc_name(project, path), "fields": fields}}]},
        {"Authorization": "Bearer owner"},
    )
    assert response.status_code == 200, response.text


# ---------------------------------------------------------------------------- one port


def test_grpc_and_http_share_the_public_port(
    emulator: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud import firestore

    assert requests.get(f"{base(emulator)}/", timeout=5).text.strip() == "Ok"
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.address)
    client = firestore.Client(project="demo-port")
    client.collection("c").document("d").set({"n": 1})
    assert client.collection("c").document("d").get().to_dict() == {"n": 1}
    client.close()
    found = rest(
        emulator,
        f"{database('demo-port')}/documents:batchGet",
        {"documents": [doc_name("demo-port", "c/d")]},
        {},
    ).json()
    assert found[0]["found"]["fields"] == {"n": {"integerValue": "1"}}


# ---------------------------------------------------------------------------- CORS


def test_preflight_echoes_origin_and_requested_headers(emulator: FirestoreEmulator) -> None:
    response = requests.options(
        f"{base(emulator)}/v1/projects/p/databases/(default)/documents:commit",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-goog-api-client,content-type",
        },
        timeout=5,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert (
        response.headers["Access-Control-Allow-Headers"]
        == "authorization,x-goog-api-client,content-type"
    )
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_responses_carry_cors_headers_and_expose_the_session_id(
    emulator: FirestoreEmulator, project: str
) -> None:
    response = rest(
        emulator, f"{database(project)}/documents:batchGet", {"documents": []}, auth("u1", project)
    )
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-HTTP-Session-Id" in response.headers["Access-Control-Expose-Headers"]


# ---------------------------------------------------------------------------- REST


def test_rest_batch_get_applies_rules_from_the_id_token(
    emulator: FirestoreEmulator, project: str
) -> None:
    seed(emulator, project, "notes/mine", {"owner": "alice"})
    seed(emulator, project, "notes/theirs", {"owner": "bob"})
    url = f"{database(project)}/documents:batchGet"
    mine = rest(
        emulator, url, {"documents": [doc_name(project, "notes/mine")]}, auth("alice", project)
    )
    assert mine.status_code == 200
    assert mine.json()[0]["found"]["fields"]["owner"] == {"stringValue": "alice"}
    theirs = rest(
        emulator, url, {"documents": [doc_name(project, "notes/theirs")]}, auth("alice", project)
    )
    assert theirs.status_code == 403
    assert theirs.json()["error"]["status"] == "PERMISSION_DENIED"
    anonymous = rest(emulator, url, {"documents": [doc_name(project, "notes/mine")]}, {})
    assert anonymous.status_code == 403


def test_rest_run_query_returns_an_array_and_bills_reads(
    emulator: FirestoreEmulator, project: str
) -> None:
    for i in range(3):
        seed(emulator, project, f"notes/n{i}", {"owner": "alice"})
    emulator.reset_costs(project)
    query = {
        "structuredQuery": {
            "from": [{"collectionId": "notes"}],
            "where": {
                "fieldFilter": {
                    "field": {"fieldPath": "owner"},
                    "op": "EQUAL",
                    "value": {"stringValue": "alice"},
                }
            },
        }
    }
    response = rest(
        emulator, f"{database(project)}/documents:runQuery", query, auth("alice", project)
    )
    assert response.status_code == 200, response.text
    names = [item["document"]["name"].rsplit("/", 1)[1] for item in response.json()]
    assert names == ["n0", "n1", "n2"]
    assert emulator.costs(project)["reads"] == 3
    unfiltered = {"structuredQuery": {"from": [{"collectionId": "notes"}]}}
    denied = rest(
        emulator, f"{database(project)}/documents:runQuery", unfiltered, auth("bob", project)
    )
    assert denied.status_code == 403


def test_rest_aggregation_count(emulator: FirestoreEmulator, project: str) -> None:
    for i in range(4):
        seed(emulator, project, f"notes/n{i}", {"owner": "alice"})
    body = {
        "structuredAggregationQuery": {
            "structuredQuery": {
                "from": [{"collectionId": "notes"}],
                "where": {
                    "fieldFilter": {
                        "field": {"fieldPath": "owner"},
                        "op": "EQUAL",
                        "value": {"stringValue": "alice"},
                    }
                },
            },
            "aggregations": [{"alias": "aggregate_0", "count": {}}],
        }
    }
    response = rest(
        emulator, f"{database(project)}/documents:runAggregationQuery", body, auth("alice", project)
    )
    assert response.status_code == 200, response.text
    result = response.json()[0]["result"]["aggregateFields"]["aggregate_0"]
    assert result == {"integerValue": "4"}


def test_rest_commit_applies_rules_and_is_atomic(emulator: FirestoreEmulator, project: str) -> None:
    url = f"{database(project)}/documents:commit"

    def note(path: str, owner: str) -> dict[str, Any]:
        return {
            "update": {"name": doc_name(project, path), "fields": {"owner": {"stringValue": owner}}}
        }

    denied = rest(
        emulator,
        url,
        {"writes": [note("notes/a", "alice"), note("notes/b", "bob")]},
        auth("alice", project),
    )
    assert denied.status_code == 403
    assert denied.json()["error"] == {
        "code": 403,
        "message": "Missing or insufficient permissions.",
        "status": "PERMISSION_DENIED",
    }
    allowed = rest(emulator, url, {"writes": [note("notes/a", "alice")]}, auth("alice", project))
    assert allowed.status_code == 200
    assert "commitTime" in allowed.json() and len(allowed.json()["writeResults"]) == 1
    found = rest(
        emulator,
        f"{database(project)}/documents:batchGet",
        {"documents": [doc_name(project, "notes/a"), doc_name(project, "notes/b")]},
        {"Authorization": "Bearer owner"},
    ).json()
    assert "found" in found[0] and found[1]["missing"] == doc_name(project, "notes/b")


def test_rest_verify_writes_check_preconditions_without_writing(
    emulator: FirestoreEmulator,
) -> None:
    project = "demo-verify"
    seed(emulator, project, "c/d", {"v": "1"})
    url = f"{database(project)}/documents:commit"
    stale = {
        "writes": [
            {"verify": doc_name(project, "c/d"), "currentDocument": {"exists": False}},
            {"update": {"name": doc_name(project, "c/e"), "fields": {}}},
        ]
    }
    response = rest(emulator, url, stale, {})
    assert response.status_code == 409 and response.json()["error"]["status"] == "ALREADY_EXISTS"
    fresh = {
        "writes": [
            {"verify": doc_name(project, "c/d"), "currentDocument": {"exists": True}},
            {"update": {"name": doc_name(project, "c/e"), "fields": {}}},
        ]
    }
    assert rest(emulator, url, fresh, {}).status_code == 200
    assert emulator.costs(project)["writes"] == 2  # the seed and c/e: a verify is no write


def test_rest_transactions_begin_and_roll_back(emulator: FirestoreEmulator) -> None:
    begun = rest(emulator, f"{database('demo-txn')}/documents:beginTransaction", {}, {})
    assert begun.status_code == 200
    transaction = begun.json()["transaction"]
    rolled = rest(
        emulator, f"{database('demo-txn')}/documents:rollback", {"transaction": transaction}, {}
    )
    assert rolled.status_code == 200 and rolled.json() == {}


def test_rest_bad_requests_get_json_errors(emulator: FirestoreEmulator) -> None:
    url = f"{base(emulator)}/v1/{database('demo-bad')}/documents:commit"
    not_json = requests.post(url, data="{nope", timeout=5)
    assert not_json.status_code == 400 and not_json.json()["error"]["status"] == "INVALID_ARGUMENT"
    no_operation = requests.post(url, data=json.dumps({"writes": [{}]}), timeout=5)
    assert no_operation.status_code == 400
    unknown = requests.post(
        f"{base(emulator)}/v1/{database('demo-bad')}/documents:explode", timeout=5
    )
    assert unknown.status_code == 404
    missing = requests.get(
        f"{base(emulator)}/v1/{database('demo-bad')}/documents/c/none", timeout=5
    )
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"


def test_rest_queries_enforce_indexes(emulator: FirestoreEmulator) -> None:
    emulator.set_indexes("demo-idx", {"indexes": [], "fieldOverrides": []})
    query = {
        "structuredQuery": {
            "from": [{"collectionId": "notes"}],
            "where": {
                "fieldFilter": {
                    "field": {"fieldPath": "a"},
                    "op": "EQUAL",
                    "value": {"integerValue": "1"},
                }
            },
            "orderBy": [{"field": {"fieldPath": "b"}, "direction": "DESCENDING"}],
        }
    }
    response = rest(emulator, f"{database('demo-idx')}/documents:runQuery", query, {})
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert "index" in response.json()["error"]["message"]


# ---------------------------------------------------------------------------- WebChannel


class Channel:
    """A hand-driven WebChannel client, framing requests as the Closure library does."""

    def __init__(
        self, emulator: FirestoreEmulator, rpc: str, project: str, headers: dict[str, str]
    ):
        self.url = f"{base(emulator)}/google.firestore.v1.Firestore/{rpc}/channel"
        self.database = database(project)
        self.headers = headers
        self.sid = ""
        self.next_map = 0
        self.aid = 0
        self.rid = 1000

    def _params(self, **extra: Any) -> dict[str, Any]:
        self.rid += 1
        return {"database": self.database, "VER": 8, "RID": self.rid, **extra}

    def _form(self, messages: list[dict[str, Any]], first_map: int | None = None) -> str:
        offset = self.next_map if first_map is None else first_map
        fields = [("count", str(len(messages))), ("ofs", str(offset))]
        for i, message in enumerate(messages):
            fields.append((f"req{i}___data__", json.dumps(message)))
        self.next_map = max(self.next_map, offset + len(messages))
        return urlencode(fields)

    def open(self, messages: list[dict[str, Any]]) -> requests.Response:
        header_lines = "".join(f"{k}:{v}\r\n" for k, v in self.headers.items())
        body = "headers=" + quote(header_lines) + "&" + self._form(messages)
        response = requests.post(
            self.url,
            params=self._params(CVER=22, **{"X-HTTP-Session-Id": "gsessionid"}),
            data=body,
            headers={"Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
        if response.status_code == 200:
            arrays = decode(response.text)
            assert arrays[0][0] == 0 and arrays[0][1][0] == "c"
            self.sid = arrays[0][1][1]
            assert response.headers["X-HTTP-Session-Id"]
        return response

    def send(
        self, messages: list[dict[str, Any]], first_map: int | None = None
    ) -> requests.Response:
        return requests.post(
            self.url,
            params=self._params(SID=self.sid, AID=self.aid),
            data=self._form(messages, first_map),
            timeout=10,
        )

    def poll(self, streaming: bool = False, aid: int | None = None) -> list[Any]:
        """One back-channel response (long-polling), or the first chunk of a streaming one."""
        params = {
            "database": self.database,
            "VER": 8,
            "RID": "rpc",
            "SID": self.sid,
            "AID": self.aid if aid is None else aid,
            "CI": 0 if streaming else 1,
            "TYPE": "xmlhttp",
        }
        with requests.get(self.url, params=params, stream=True, timeout=10) as response:
            assert response.status_code == 200, response.text
            if streaming:
                first = next(response.iter_content(chunk_size=None))
                arrays = decode(first.decode())
            else:
                arrays = decode(response.text)
        self.aid = max([self.aid] + [array_id for array_id, _ in arrays])
        return arrays

    def messages(self, until: Any, timeout: float = 10.0) -> list[Any]:
        """Long-poll until ``until(messages so far)`` holds; every non-noop message."""
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, payload in self.poll():
                if payload not in (["noop"],):
                    seen.append(payload[0] if isinstance(payload[0], dict) else payload)
            if until(seen):
                return seen
        raise AssertionError(f"timed out; saw {seen}")


def decode(text: str) -> list[Any]:
    """Every ``[id, payload]`` array in a length-prefixed WebChannel response body."""
    arrays: list[Any] = []
    position = 0
    while position < len(text):
        newline = text.index("\n", position)
        size = int(text[position:newline])
        arrays.extend(json.loads(text[newline + 1 : newline + 1 + size]))
        position = newline + 1 + size
    return arrays


def listen_doc(project: str, path: str, target_id: int = 2) -> dict[str, Any]:
    return {
        "database": database(project),
        "addTarget": {"documents": {"documents": [doc_name(project, path)]}, "targetId": target_id},
    }


def is_global_snapshot(message: Any) -> bool:
    change = message.get("targetChange") if isinstance(message, dict) else None
    return change is not None and not change.get("targetIds") and "readTime" in change


def test_listen_channel_delivers_the_initial_snapshot_and_changes(
    emulator: FirestoreEmulator, project: str
) -> None:
    seed(emulator, project, "notes/mine", {"owner": "alice"})
    channel = Channel(
        emulator, "Listen", project, {"Authorization": f"Bearer {id_token('alice', project)}"}
    )
    assert channel.open([listen_doc(project, "notes/mine")]).status_code == 200
    initial = channel.messages(lambda seen: any(is_global_snapshot(m) for m in seen))
    kinds = [next(iter(m)) for m in initial]
    assert kinds[:2] == ["targetChange", "documentChange"]
    assert initial[0]["targetChange"] == {"targetChangeType": "ADD", "targetIds": [2]}
    assert initial[1]["documentChange"]["document"]["fields"]["owner"] == {"stringValue": "alice"}
    assert initial[2]["targetChange"]["targetChangeType"] == "CURRENT"
    assert initial[2]["targetChange"]["resumeToken"]
    seed(emulator, project, "notes/mine", {"owner": "alice", "title": "changed"})
    changed = channel.messages(lambda seen: any(is_global_snapshot(m) for m in seen))
    assert changed[0]["documentChange"]["document"]["fields"]["title"] == {"stringValue": "changed"}


def test_listen_channel_denied_target_is_removed_with_the_cause(
    emulator: FirestoreEmulator, project: str
) -> None:
    seed(emulator, project, "notes/theirs", {"owner": "bob"})
    channel = Channel(
        emulator, "Listen", project, {"Authorization": f"Bearer {id_token('alice', project)}"}
    )
    channel.open([listen_doc(project, "notes/theirs")])
    seen = channel.messages(lambda seen: bool(seen))
    change = seen[0]["targetChange"]
    assert change["targetChangeType"] == "REMOVE"
    assert change["cause"] == {"code": 7, "message": "Missing or insufficient permissions."}


def test_forward_requests_are_acknowledged_and_retries_ignored(
    emulator: FirestoreEmulator, project: str
) -> None:
    seed(emulator, project, "notes/a", {"owner": "alice"})
    channel = Channel(
        emulator, "Listen", project, {"Authorization": f"Bearer {id_token('alice', project)}"}
    )
    channel.open([])
    add = listen_doc(project, "notes/a", target_id=4)
    ack = channel.send([add], first_map=1)
    assert ack.status_code == 200
    flag, last_array, outstanding = decode_post(ack.text)
    assert flag == 1 and last_array >= 0 and outstanding >= 0
    # The same map id again (a retried POST): applying it twice would add target 4 twice,
    # which the Listen engine refuses with a REMOVE carrying a cause.
    assert channel.send([add], first_map=1).status_code == 200
    seen = channel.messages(lambda seen: any(is_global_snapshot(m) for m in seen))
    time.sleep(0.7)  # past the noop interval: nothing else was queued
    seen += [payload for _, payload in channel.poll() if payload != ["noop"]]
    changes = [m["targetChange"] for m in seen if "targetChange" in m]
    assert [c.get("targetChangeType", "NO_CHANGE") for c in changes] == [
        "ADD",
        "CURRENT",
        "NO_CHANGE",
    ]


def decode_post(text: str) -> list[int]:
    newline = text.index("\n")
    return list(json.loads(text[newline + 1 :]))


def test_back_channel_resends_what_was_not_acknowledged(
    emulator: FirestoreEmulator, project: str
) -> None:
    seed(emulator, project, "notes/a", {"owner": "alice"})
    channel = Channel(
        emulator, "Listen", project, {"Authorization": f"Bearer {id_token('alice', project)}"}
    )
    channel.open([listen_doc(project, "notes/a")])
    first = channel.messages(lambda seen: any(is_global_snapshot(m) for m in seen))
    again = channel.poll(aid=0)  # the client lost that response: AID=0 acknowledges nothing
    assert [payload[0] for _, payload in again if payload != ["noop"]] == first


def test_streaming_back_channel_starts_at_once_and_keeps_alive(
    emulator: FirestoreEmulator, project: str
) -> None:
    channel = Channel(emulator, "Listen", project, {})
    channel.open([])
    params = {
        "database": database(project),
        "VER": 8,
        "RID": "rpc",
        "SID": channel.sid,
        "AID": 0,
        "CI": 0,
        "TYPE": "xmlhttp",
    }
    started = time.monotonic()
    chunks: list[Any] = []
    with requests.get(channel.url, params=params, stream=True, timeout=10) as response:
        for chunk in response.iter_content(chunk_size=None):
            chunks.extend(decode(chunk.decode()))
            if len(chunks) >= 3:
                break
    # A first byte at once (the SDK's buffering-proxy detection), then one noop per interval.
    assert [payload for _, payload in chunks] == [["noop"]] * 3
    assert 0.8 < time.monotonic() - started < 3.0
    assert [array_id for array_id, _ in chunks] == [1, 2, 3]


def test_unknown_and_expired_sessions_get_unknown_sid(
    emulator: FirestoreEmulator, project: str
) -> None:
    channel = Channel(emulator, "Listen", project, {})
    channel.sid = "no-such-session"
    response = channel.send([{"database": database(project)}])
    assert response.status_code == 400 and "Unknown SID" in response.text
    channel = Channel(emulator, "Listen", project, {})
    channel.open([])
    time.sleep(2.5)  # session timeout 1.5 s with no back channel
    assert "Unknown SID" in channel.send([]).text
    assert emulator.channels.sessions() == []


def test_terminate_ends_the_session(emulator: FirestoreEmulator, project: str) -> None:
    channel = Channel(emulator, "Listen", project, {})
    channel.open([])
    assert len(emulator.channels.sessions()) == 1
    params = {
        "database": database(project),
        "VER": 8,
        "SID": channel.sid,
        "RID": 5,
        "TYPE": "terminate",
    }
    assert requests.get(channel.url, params=params, timeout=5).status_code == 200
    assert emulator.channels.sessions() == []
    assert "Unknown SID" in channel.send([]).text


def test_write_channel_handshake_tokens_and_rules(
    emulator: FirestoreEmulator, project: str
) -> None:
    channel = Channel(
        emulator, "Write", project, {"Authorization": f"Bearer {id_token('alice', project)}"}
    )
    channel.open([{"database": database(project)}])
    handshake = channel.messages(lambda seen: bool(seen))[0]
    assert handshake["streamId"] and handshake["streamToken"]

    def note(owner: str) -> dict[str, Any]:
        return {
            "update": {
                "name": doc_name(project, f"notes/{owner}"),
                "fields": {"owner": {"stringValue": owner}},
            }
        }

    channel.send([{"streamToken": handshake["streamToken"], "writes": [note("alice")]}])
    written = channel.messages(lambda seen: bool(seen))[0]
    assert written["streamToken"] != handshake["streamToken"]
    assert written["commitTime"] and len(written["writeResults"]) == 1
    channel.send([{"streamToken": written["streamToken"], "writes": [note("bob")]}])
    error = channel.messages(lambda seen: bool(seen))[0]
    assert error["error"]["status"] == "PERMISSION_DENIED"
    assert emulator.costs(project)["writes"] == 1


def test_write_channel_rejects_a_stale_stream_token(
    emulator: FirestoreEmulator, project: str
) -> None:
    channel = Channel(emulator, "Write", project, {})
    channel.open([{"database": database(project)}])
    channel.messages(lambda seen: bool(seen))
    channel.send([{"streamToken": "c3RhbGU=", "writes": []}])
    error = channel.messages(lambda seen: bool(seen))[0]
    assert error["error"]["status"] == "INVALID_ARGUMENT"


def test_garbage_messages_end_the_stream_with_invalid_argument(
    emulator: FirestoreEmulator, project: str
) -> None:
    channel = Channel(emulator, "Listen", project, {})
    channel.open([])
    body = urlencode([("count", "1"), ("ofs", "0"), ("req0___data__", "[not json")])
    requests.post(
        channel.url, params={"SID": channel.sid, "RID": 9, "AID": 0}, data=body, timeout=5
    )
    error = channel.messages(lambda seen: bool(seen))[0]
    assert error["error"]["status"] == "INVALID_ARGUMENT"


def test_hostile_http_input_gets_clear_errors_and_the_port_keeps_serving(
    emulator: FirestoreEmulator, project: str
) -> None:
    import socket

    host, port = emulator.host, emulator.port
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(b"POST /v1/x:commit HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(
            b"POST /v1/x:commit HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n"
        )
        assert raw.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01garbage-not-http\r\n\r\n")  # a TLS hello: not HTTP at all
        answer = b"".join(iter(lambda: raw.recv(4096), b""))
        assert b"400" in answer  # Bad request, and the connection closed
    deep = "[" * 100_000 + "]" * 100_000
    nested = rest(emulator, f"{database(project)}/documents:commit", deep, {})
    assert nested.status_code == 400
    channel = Channel(emulator, "Listen", project, {})
    channel.open([])
    # A forward POST claiming a billion messages carries none: nothing to do, answered at once.
    started = time.monotonic()
    body = "count=1000000000&ofs=0"
    requests.post(
        channel.url, params={"SID": channel.sid, "RID": 7, "AID": 0}, data=body, timeout=5
    )
    assert time.monotonic() - started < 2
    bad_aid = requests.get(
        channel.url, params={"SID": channel.sid, "RID": "rpc", "AID": "x"}, timeout=5
    )
    assert bad_aid.status_code == 400
    assert requests.get(f"{base(emulator)}/", timeout=5).text.strip() == "Ok"


def test_rest_and_webchannel_commits_fire_document_triggers(
    emulator: FirestoreEmulator, project: str
) -> None:
    from tests.firestore_emulator.test_triggers import Receiver

    receiver = Receiver()
    try:
        emulator.set_triggers(
            project,
            [
                {
                    "name": "on_note",
                    "eventType": "google.cloud.firestore.document.v1.created",
                    "document": "notes/{noteId}",
                    "database": "(default)",
                    "url": receiver.url("/on_note"),
                }
            ],
        )
        seed(emulator, project, "notes/by-rest", {"owner": "alice"})
        channel = Channel(
            emulator, "Write", project, {"Authorization": f"Bearer {id_token('alice', project)}"}
        )
        channel.open([{"database": database(project)}])
        token = channel.messages(lambda seen: bool(seen))[0]["streamToken"]
        fields = {"owner": {"stringValue": "alice"}}
        write = {"update": {"name": doc_name(project, "notes/by-webchannel"), "fields": fields}}
        channel.send([{"streamToken": token, "writes": [write]}])
        channel.messages(lambda seen: bool(seen))
        assert emulator.flush_triggers(10)
        subjects = sorted(headers["ce-subject"] for _, headers, _ in receiver.events)
        assert subjects == ["documents/notes/by-rest", "documents/notes/by-webchannel"]
    finally:
        receiver.close()


def test_forward_requests_acknowledge_what_the_back_channel_delivered(
    emulator: FirestoreEmulator, project: str
) -> None:
    seed(emulator, project, "notes/a", {"owner": "alice"})
    channel = Channel(
        emulator, "Listen", project, {"Authorization": f"Bearer {id_token('alice', project)}"}
    )
    channel.open([listen_doc(project, "notes/a")])
    channel.messages(lambda seen: any(is_global_snapshot(m) for m in seen))
    (session,) = emulator.channels.sessions()
    assert session.outstanding_bytes() > 0  # delivered, not yet acknowledged
    channel.send([])  # carries AID = the last array received
    assert session.outstanding_bytes() == 0

