"""Security rules evaluated by the emulator for client requests, as the official emulator does.

Clients authenticate with Firebase ID tokens (``client_as``); the server SDKs' ``Bearer owner``
bypasses rules. Rules are set per test project, so tests stay isolated.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.types import firestore as firestore_types
from google.cloud.firestore_v1.types import query as query_types

from emulators.firestore.rules.testing import client_as, id_token

pytestmark = pytest.mark.ours_only

REPO = Path(__file__).resolve().parents[2]
DENIED = "Missing or insufficient permissions."

RULES = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    function signedIn() { return request.auth != null; }

    match /notes/{noteId} {
      allow read: if signedIn() && resource.data.owner == request.auth.uid;
      allow create: if signedIn() && request.resource.data.owner == request.auth.uid
                    && request.resource.data.keys().hasOnly(['owner', 'text', 'at'])
                    && (!('at' in request.resource.data)
                        || request.resource.data.at == request.time);
      allow update: if resource.data.owner == request.auth.uid
                    && request.resource.data.diff(resource.data).affectedKeys().hasOnly(['text']);
      allow delete: if resource.data.owner == request.auth.uid;
    }
    match /claims/{id} {
      allow get: if request.auth.token.email_verified == true
                 && request.auth.token.email.matches('.*@example[.]com')
                 && request.auth.token.firebase.sign_in_provider == 'password'
                 && request.auth.token.role == 'admin';
    }
    match /open/{id} {
      allow get: if true;
    }
    match /rooms/{roomId} {
      allow create: if getAfter(/databases/$(database)/documents/owners/$(roomId)).data.uid
                       == request.auth.uid;
    }
    match /owners/{roomId} {
      allow create: if request.resource.data.uid == request.auth.uid;
    }
  }
}
"""


@pytest.fixture
def project(firestore_emulator: Any, fs_project: str, fs_client: Any) -> Iterator[str]:
    """``fs_project`` with RULES enforced; ``fs_client`` (admin) clears the data afterwards."""
    firestore_emulator.emulator.set_rules(fs_project, RULES)
    try:
        yield fs_project
    finally:
        firestore_emulator.emulator.set_rules(fs_project, None)


@pytest.fixture
def alice(project: str) -> Iterator[Any]:
    client = client_as(project, id_token("alice"))
    yield client
    client.close()


def _denied(call: Any) -> exceptions.PermissionDenied:
    with pytest.raises(exceptions.PermissionDenied) as caught:
        call()
    assert caught.value.message == DENIED
    return caught.value


def _seed_notes(admin: Any) -> None:
    admin.collection("notes").document("a1").set({"owner": "alice", "text": "mine"})
    admin.collection("notes").document("b1").set({"owner": "bob", "text": "bob's"})


# ---------------------------------------------------------------------- who is checked
def test_without_rules_every_client_is_allowed(fs_client: Any, fs_project: str) -> None:
    fs_client.collection("notes").document("b1").set({"owner": "bob"})
    for token in (None, id_token("alice"), "not-a-jwt"):
        client = client_as(fs_project, token)
        assert client.collection("notes").document("b1").get().to_dict() == {"owner": "bob"}
        client.collection("notes").document("x").set({"any": "thing"})
        client.close()


def test_owner_token_bypasses_rules(fs_client: Any, project: str) -> None:
    fs_client.collection("secret").document("s").set({"v": 1})
    assert fs_client.collection("secret").document("s").get().to_dict() == {"v": 1}
    assert [d.id for d in fs_client.collection("secret").stream()] == ["s"]


def test_unauthenticated_client_has_null_auth(fs_client: Any, project: str) -> None:
    _seed_notes(fs_client)
    fs_client.collection("open").document("o").set({"v": 1})
    anonymous = client_as(project, None)
    assert anonymous.collection("open").document("o").get().exists
    _denied(lambda: anonymous.collection("notes").document("a1").get())
    _denied(lambda: list(anonymous.collection("notes").stream()))
    _denied(lambda: anonymous.collection("notes").document("n").set({"owner": "alice"}))
    anonymous.close()


def test_token_claims_reach_request_auth_token(fs_client: Any, project: str) -> None:
    fs_client.collection("claims").document("c").set({"v": 1})

    def read_with(**claims: Any) -> Any:
        client = client_as(project, id_token("carol", **claims))
        try:
            return client.collection("claims").document("c").get()
        finally:
            client.close()

    good = {"email": "carol@example.com", "role": "admin"}
    assert read_with(**good).to_dict() == {"v": 1}
    _denied(lambda: read_with(**{**good, "role": "user"}))
    _denied(lambda: read_with(**{**good, "email": "carol@evil.com"}))
    _denied(lambda: read_with(**good, email_verified=False))
    _denied(lambda: read_with(**good, sign_in_provider="anonymous"))
    _denied(lambda: read_with(email="carol@example.com"))  # no role claim: error → false


def test_malformed_token_is_unauthenticated(project: str) -> None:
    client = client_as(project, "not-a-jwt")
    with pytest.raises(exceptions.Unauthenticated):
        client.collection("open").document("o").get()
    client.close()


# ---------------------------------------------------------------------- reads
def test_get_is_evaluated_against_the_stored_document(fs_client: Any, alice: Any) -> None:
    _seed_notes(fs_client)
    assert alice.collection("notes").document("a1").get().to_dict()["text"] == "mine"
    error = _denied(lambda: alice.collection("notes").document("b1").get())
    assert error.grpc_status_code is not None
    assert error.grpc_status_code.name == "PERMISSION_DENIED"
    # A rule on resource.data cannot hold for a missing document: denied, not "not found".
    _denied(lambda: alice.collection("notes").document("missing").get())
    assert not alice.collection("open").document("missing").get().exists


def test_batch_get_is_denied_when_any_document_is(fs_client: Any, alice: Any) -> None:
    _seed_notes(fs_client)
    notes = alice.collection("notes")
    assert [s.id for s in alice.get_all([notes.document("a1")])] == ["a1"]
    _denied(lambda: list(alice.get_all([notes.document("a1"), notes.document("b1")])))


def test_query_is_allowed_only_when_every_result_is(fs_client: Any, alice: Any) -> None:
    _seed_notes(fs_client)
    notes = alice.collection("notes")
    mine = notes.where(filter=FieldFilter("owner", "==", "alice"))
    assert [d.id for d in mine.stream()] == ["a1"]
    _denied(lambda: list(notes.stream()))  # would return bob's note too
    _denied(lambda: list(notes.where(filter=FieldFilter("owner", "==", "bob")).stream()))
    assert mine.count().get()[0][0].value == 1
    _denied(lambda: notes.count().get())


def test_empty_query_is_judged_by_its_constraints(project: str, alice: Any) -> None:
    notes = alice.collection("notes")
    assert list(notes.where(filter=FieldFilter("owner", "==", "alice")).stream()) == []
    _denied(lambda: list(notes.where(filter=FieldFilter("owner", "==", "bob")).stream()))
    _denied(lambda: list(notes.stream()))


def test_list_documents_is_a_list(fs_client: Any, alice: Any) -> None:
    fs_client.collection("notes").document("a1").set({"owner": "alice", "text": "mine"})
    assert [ref.id for ref in alice.collection("notes").list_documents()] == ["a1"]
    fs_client.collection("notes").document("b1").set({"owner": "bob", "text": "bob's"})
    _denied(lambda: list(alice.collection("notes").list_documents()))


def test_list_collection_ids_is_not_for_clients(fs_client: Any, alice: Any) -> None:
    _seed_notes(fs_client)
    assert [c.id for c in fs_client.collections()] == ["notes"]
    _denied(lambda: list(alice.collections()))


# ---------------------------------------------------------------------- writes
def test_create_update_delete_see_request_resource_and_resource(fs_client: Any, alice: Any) -> None:
    notes = alice.collection("notes")
    notes.document("n").set({"owner": "alice", "text": "hi"})
    _denied(lambda: notes.document("n2").set({"owner": "bob", "text": "forged"}))
    _denied(lambda: notes.document("n3").set({"owner": "alice", "extra": 1}))
    notes.document("n").update({"text": "edited"})
    _denied(lambda: notes.document("n").update({"owner": "bob"}))
    assert fs_client.collection("notes").document("n").get().to_dict() == {
        "owner": "alice",
        "text": "edited",
    }
    fs_client.collection("notes").document("b1").set({"owner": "bob", "text": "x"})
    _denied(lambda: notes.document("b1").delete())
    notes.document("n").delete()
    assert not fs_client.collection("notes").document("n").get().exists
    assert fs_client.collection("notes").document("b1").get().exists


def test_server_timestamp_equals_request_time(fs_client: Any, alice: Any) -> None:
    notes = alice.collection("notes")
    notes.document("t").set({"owner": "alice", "text": "x", "at": firestore.SERVER_TIMESTAMP})
    assert fs_client.collection("notes").document("t").get().to_dict()["at"] is not None


def test_a_denied_write_fails_the_whole_commit(fs_client: Any, alice: Any) -> None:
    batch = alice.batch()
    batch.set(alice.collection("notes").document("ok"), {"owner": "alice", "text": "x"})
    batch.set(alice.collection("notes").document("bad"), {"owner": "bob", "text": "x"})
    _denied(batch.commit)
    assert list(fs_client.collection("notes").stream()) == []


def test_get_after_sees_the_other_writes_of_the_batch(fs_client: Any, alice: Any) -> None:
    room = alice.collection("rooms").document("r1")
    _denied(lambda: room.set({"name": "alone"}))
    batch = alice.batch()
    batch.set(alice.collection("owners").document("r1"), {"uid": "alice"})
    batch.set(room, {"name": "with owner"})
    batch.commit()
    assert fs_client.collection("rooms").document("r1").get().exists


# ---------------------------------------------------------------------- Listen
def _first_target_response(client: Any, target: dict[str, Any]) -> Any:
    """The first target change (other than ADD) a Listen stream answers ``target`` with."""
    requests: queue.Queue[Any] = queue.Queue()
    database = client._database_string
    requests.put(firestore_types.ListenRequest(database=database, add_target=target))

    def iterate() -> Iterator[Any]:
        while True:
            item = requests.get()
            if item is None:
                return
            yield item

    responses = client._firestore_api.listen(requests=iterate(), metadata=client._rpc_metadata)
    try:
        for response in responses:
            if "target_change" in response:
                change = response.target_change
                if change.target_change_type.name in ("REMOVE", "CURRENT"):
                    return change
        raise AssertionError("the Listen stream ended without a target change")
    finally:
        requests.put(None)
        responses.cancel()


def _query(client: Any, owner: str | None) -> dict[str, Any]:
    structured = query_types.StructuredQuery(
        from_=[query_types.StructuredQuery.CollectionSelector(collection_id="notes")]
    )
    if owner is not None:
        structured.where = query_types.StructuredQuery.Filter(
            field_filter=query_types.StructuredQuery.FieldFilter(
                field=query_types.StructuredQuery.FieldReference(field_path="owner"),
                op=query_types.StructuredQuery.FieldFilter.Operator.EQUAL,
                value={"string_value": owner},
            )
        )
    return {
        "target_id": 5,
        "query": {"parent": f"{client._database_string}/documents", "structured_query": structured},
    }


def test_listen_targets_are_checked_when_added(fs_client: Any, alice: Any) -> None:
    _seed_notes(fs_client)
    change = _first_target_response(alice, _query(alice, "alice"))
    assert change.target_change_type.name == "CURRENT"
    for target in (
        _query(alice, None),
        _query(alice, "bob"),
        {
            "target_id": 5,
            "documents": {"documents": [f"{alice._database_string}/documents/notes/b1"]},
        },
    ):
        change = _first_target_response(alice, target)
        assert change.target_change_type.name == "REMOVE"
        assert list(change.target_ids) == [5]
        assert change.cause.code == 7  # PERMISSION_DENIED
        assert change.cause.message == DENIED


def test_listen_stream_ends_before_a_forbidden_document_reaches_the_client(
    fs_client: Any, alice: Any
) -> None:
    fs_client.collection("notes").document("a1").set({"owner": "alice", "text": "shared"})
    requests: queue.Queue[Any] = queue.Queue()
    target = _query(alice, None)
    target["query"]["structured_query"].where = query_types.StructuredQuery.Filter(
        field_filter=query_types.StructuredQuery.FieldFilter(
            field=query_types.StructuredQuery.FieldReference(field_path="text"),
            op=query_types.StructuredQuery.FieldFilter.Operator.EQUAL,
            value={"string_value": "shared"},
        )
    )
    requests.put(firestore_types.ListenRequest(database=alice._database_string, add_target=target))

    def iterate() -> Iterator[Any]:
        while (item := requests.get()) is not None:
            yield item

    responses = alice._firestore_api.listen(requests=iterate(), metadata=alice._rpc_metadata)
    delivered: list[str] = []
    try:
        with pytest.raises(exceptions.PermissionDenied):
            for response in responses:
                if "document_change" in response:
                    delivered.append(response.document_change.document.name.rsplit("/", 1)[1])
                change = response.target_change
                if "target_change" in response and change.target_change_type.name == "CURRENT":
                    # Only alice's note matched so far; now one of bob's matches too.
                    fs_client.collection("notes").document("b9").set(
                        {"owner": "bob", "text": "shared"}
                    )
    finally:
        requests.put(None)
        responses.cancel()
    assert delivered == ["a1"]


def test_documents_read_by_rules_are_billed(
    firestore_emulator: Any, fs_client: Any, project: str
) -> None:
    fs_client.collection("owners").document("r1").set({"uid": "alice"})
    firestore_emulator.emulator.reset_costs(project)
    alice = client_as(project, id_token("alice"))
    alice.collection("rooms").document("r1").set({"name": "mine"})
    batch = alice.batch()
    batch.set(alice.collection("owners").document("r3"), {"uid": "alice"})
    batch.set(alice.collection("rooms").document("r3"), {"name": "mine"})
    batch.commit()
    alice.close()
    # Three writes, and the one stored document getAfter() read while evaluating the rules
    # (owners/r1); owners/r3 was written by the same batch, so not read from the store.
    assert firestore_emulator.emulator.costs(project) == {"reads": 1, "writes": 3, "deletes": 0}


def test_on_snapshot_of_a_permitted_query_works(fs_client: Any, alice: Any) -> None:
    _seed_notes(fs_client)
    seen: queue.Queue[list[str]] = queue.Queue()
    query = alice.collection("notes").where(filter=FieldFilter("owner", "==", "alice"))
    watch = query.on_snapshot(lambda docs, changes, read_time: seen.put([d.id for d in docs]))
    try:
        assert seen.get(timeout=30) == ["a1"]
        fs_client.collection("notes").document("a2").set({"owner": "alice", "text": "new"})
        assert seen.get(timeout=30) == ["a1", "a2"]
    finally:
        watch.unsubscribe()


# ---------------------------------------------------------------------- configuration
def _http(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_admin_api_sets_reads_and_clears_rules(
    firestore_emulator: Any, fs_client: Any, fs_project: str
) -> None:
    url = f"{firestore_emulator.admin_url}/emulator/v1/projects/{fs_project}/rules"
    fs_client.collection("notes").document("b1").set({"owner": "bob"})
    client = client_as(fs_project, id_token("alice"))
    try:
        assert _http("PUT", url, RULES.encode()) == (200, b"{}")
        assert _http("GET", url) == (200, RULES.encode())
        _denied(lambda: client.collection("notes").document("b1").get())

        status, body = _http("PUT", url, b"service cloud.firestore {\n  match /x {\n  allow nope;")
        assert status == 400
        assert json.loads(body)["line"] == 3
        assert "line 3" in json.loads(body)["error"]
        _denied(lambda: client.collection("notes").document("b1").get())  # old rules kept

        assert _http("DELETE", url)[0] == 200
        assert _http("GET", url)[0] == 404
        assert client.collection("notes").document("b1").get().exists

        official = {"rules": {"files": [{"name": "firestore.rules", "content": RULES}]}}
        security_rules = (
            f"{firestore_emulator.admin_url}/emulator/v1/projects/{fs_project}:securityRules"
        )
        assert _http("PUT", security_rules, json.dumps(official).encode())[0] == 200
        _denied(lambda: client.collection("notes").document("b1").get())
    finally:
        client.close()
        firestore_emulator.emulator.set_rules(fs_project, None)


def test_cli_rules_flag_enforces_the_file_for_every_project(tmp_path: Path) -> None:
    rules_file = tmp_path / "firestore.rules"
    rules_file.write_text(RULES, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.firestore", "--port", "0", "--rules", str(rules_file)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("Firestore emulator ready on 127.0.0.1:"), line
        os.environ["FIRESTORE_EMULATOR_HOST"] = line.rsplit(" ", 1)[1]
        admin = firestore.Client(project="cli-rules")
        admin.collection("notes").document("b1").set({"owner": "bob"})
        client = client_as("cli-rules", id_token("alice"))
        _denied(lambda: client.collection("notes").document("b1").get())
        bob = client_as("cli-rules", id_token("bob"))
        assert bob.collection("notes").document("b1").get().exists
        for opened in (admin, client, bob):
            opened.close()
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
        process.terminate()
        process.wait(timeout=30)


def test_cli_refuses_a_broken_rules_file(tmp_path: Path) -> None:
    rules_file = tmp_path / "firestore.rules"
    rules_file.write_text(
        "service cloud.firestore {\n  match /a/{b} {\n    allow read: if x(;\n", "utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "emulators.firestore", "--port", "0", "--rules", str(rules_file)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "firestore.rules line 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_are_per_project(firestore_emulator: Any, fs_client: Any, project: str) -> None:
    other = f"{project}-other"
    admin = firestore_emulator.client(other)
    try:
        admin.collection("notes").document("b1").set({"owner": "bob"})
        client = client_as(other, id_token("alice"))
        assert client.collection("notes").document("b1").get().exists
        client.close()
    finally:
        firestore_emulator.clear(other)
        admin.close()
