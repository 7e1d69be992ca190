"""The gRPC ``Write`` stream (what the client SDKs use for mutations): handshake, one atomic
commit per request answered with a fresh stream token, errors ending the stream."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from emulators.firestore import FirestoreEmulator
from emulators.firestore.protos import Write, WriteRequest, WriteResponse
from emulators.firestore.rules.testing import id_token

pytestmark = pytest.mark.ours_only

DATABASE = "projects/demo-write/databases/(default)"
RULES = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /notes/{id} { allow write: if request.auth != null; }
  }
}
"""


class Stream:
    def __init__(self, address: str, token: str | None = None) -> None:
        self.channel = grpc.insecure_channel(address)
        call = self.channel.stream_stream(
            "/google.firestore.v1.Firestore/Write",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=WriteResponse.FromString,
        )
        self.requests: queue.Queue[Any] = queue.Queue()
        metadata = [("authorization", f"Bearer {token or 'owner'}")]
        self.responses = call(iter(self.requests.get, None), metadata=metadata, timeout=10)

    def send(self, request: Any) -> Any:
        self.requests.put(request)
        return next(self.responses)

    def close(self) -> None:
        self.requests.put(None)
        self.channel.close()


@pytest.fixture
def emulator() -> Iterator[FirestoreEmulator]:
    with FirestoreEmulator() as running:
        running.set_rules("demo-write", RULES)
        yield running


def note(name: str) -> Any:
    write = Write()
    write.update.name = f"{DATABASE}/documents/notes/{name}"
    write.update.fields["n"].integer_value = 1
    return write


def test_handshake_then_commits_with_fresh_tokens(emulator: FirestoreEmulator) -> None:
    stream = Stream(emulator.address, id_token("alice", "demo-write"))
    try:
        handshake = stream.send(WriteRequest(database=DATABASE))
        assert handshake.stream_id and handshake.stream_token and not handshake.write_results
        first = stream.send(WriteRequest(stream_token=handshake.stream_token, writes=[note("a")]))
        assert len(first.write_results) == 1 and first.commit_time.seconds > 0
        assert first.stream_token != handshake.stream_token
        second = stream.send(
            WriteRequest(stream_token=first.stream_token, writes=[note("b"), note("c")])
        )
        assert len(second.write_results) == 2
    finally:
        stream.close()
    assert emulator.costs("demo-write")["writes"] == 3


def test_a_stale_token_or_a_denied_write_ends_the_stream(emulator: FirestoreEmulator) -> None:
    stream = Stream(emulator.address, id_token("alice", "demo-write"))
    try:
        stream.send(WriteRequest(database=DATABASE))
        with pytest.raises(grpc.RpcError) as stale:
            stream.send(WriteRequest(stream_token=b"stale", writes=[note("a")]))
        assert stale.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        stream.close()
    denied_write = Write()
    denied_write.update.name = f"{DATABASE}/documents/secrets/x"
    stream = Stream(emulator.address, id_token("alice", "demo-write"))
    try:
        handshake = stream.send(WriteRequest(database=DATABASE))
        with pytest.raises(grpc.RpcError) as denied:
            stream.send(WriteRequest(stream_token=handshake.stream_token, writes=[denied_write]))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        stream.close()
    assert emulator.costs("demo-write")["writes"] == 0


def test_the_handshake_must_name_a_database_and_carry_no_writes(
    emulator: FirestoreEmulator,
) -> None:
    for request in (WriteRequest(), WriteRequest(database=DATABASE, writes=[note("a")])):
        stream = Stream(emulator.address)
        try:
            with pytest.raises(grpc.RpcError) as refused:
                stream.send(request)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        finally:
            stream.close()
