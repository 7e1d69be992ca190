"""The Listen protocol below on_snapshot: message order, resume tokens, removing targets."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest
from google.cloud.firestore_v1.types import firestore as firestore_types
from google.cloud.firestore_v1.types import query as query_types

TargetChangeType = firestore_types.TargetChange.TargetChangeType
TARGET = 7


class Stream:
    """A Listen call whose requests can be sent one at a time, starting with ``first``."""

    def __init__(self, client, **first) -> None:
        self._requests: queue.Queue = queue.Queue()
        self._database = client._database_string
        # api_core waits for the first response while opening the stream: send first.
        self.send(**first)
        self.responses = client._firestore_api.listen(
            requests=self._iterate(), metadata=client._rpc_metadata
        )

    def _iterate(self) -> Iterator:
        while True:
            request = self._requests.get()
            if request is None:
                return
            yield request

    def send(self, **kwargs) -> None:
        self._requests.put(firestore_types.ListenRequest(database=self._database, **kwargs))

    def until_snapshot(self) -> list:
        """Responses up to and including the next global consistent NO_CHANGE."""
        collected = []
        for response in self.responses:
            collected.append(response)
            change = response.target_change
            if (
                "target_change" in response
                and change.target_change_type == TargetChangeType.NO_CHANGE
                and not change.target_ids
                and change.read_time
            ):
                return collected
        raise AssertionError("stream ended before a consistent snapshot")

    def close(self) -> None:
        self._requests.put(None)
        self.responses.cancel()


def _query_target(client, collection: str, resume_token: bytes | None = None) -> dict:
    target: dict = {
        "target_id": TARGET,
        "query": {
            "parent": f"{client._database_string}/documents",
            "structured_query": query_types.StructuredQuery(
                from_=[query_types.StructuredQuery.CollectionSelector(collection_id=collection)]
            ),
        },
    }
    if resume_token is not None:
        target["resume_token"] = resume_token
    return target


def _kinds(responses) -> list[tuple[str, object]]:
    kinds = []
    for response in responses:
        which = firestore_types.ListenResponse.pb(response).WhichOneof("response_type")
        if which == "target_change":
            kinds.append((which, response.target_change.target_change_type.name))
        elif which == "document_change":
            kinds.append((which, response.document_change.document.name.rsplit("/", 1)[1]))
        else:
            kinds.append((which, getattr(response, which).document.rsplit("/", 1)[1]))
    return kinds


def test_initial_snapshot_message_order(fs_client):
    fs_client.collection("proto").document("a").set({"v": 1})
    stream = Stream(fs_client, add_target=_query_target(fs_client, "proto"))
    try:
        responses = stream.until_snapshot()
        assert _kinds(responses) == [
            ("target_change", "ADD"),
            ("document_change", "a"),
            ("target_change", "CURRENT"),
            ("target_change", "NO_CHANGE"),
        ]
        assert list(responses[0].target_change.target_ids) == [TARGET]
        assert list(responses[1].document_change.target_ids) == [TARGET]
        assert responses[-1].target_change.resume_token
    finally:
        stream.close()


@pytest.mark.ours_only
def test_resume_token_sends_only_what_changed(fs_client):
    docs = fs_client.collection("resume")
    for name in ("changed", "deleted", "same"):
        docs.document(name).set({"v": 1})
    stream = Stream(fs_client, add_target=_query_target(fs_client, "resume"))
    try:
        token = stream.until_snapshot()[-1].target_change.resume_token
    finally:
        stream.close()
    docs.document("changed").update({"v": 2})
    docs.document("deleted").delete()
    docs.document("new").set({"v": 1})

    resumed = Stream(fs_client, add_target=_query_target(fs_client, "resume", resume_token=token))
    try:
        kinds = _kinds(resumed.until_snapshot())
        assert kinds[0] == ("target_change", "ADD")
        assert sorted(kinds[1:3]) == [("document_change", "changed"), ("document_change", "new")]
        assert kinds[3][1] == "deleted" and kinds[3][0] in ("document_delete", "document_remove")
        assert kinds[4:] == [("target_change", "CURRENT"), ("target_change", "NO_CHANGE")]
    finally:
        resumed.close()


def test_remove_target(fs_client):
    stream = Stream(fs_client, add_target=_query_target(fs_client, "removable"))
    try:
        stream.until_snapshot()
        stream.send(remove_target=TARGET)
        response = next(iter(stream.responses))
        assert response.target_change.target_change_type == TargetChangeType.REMOVE
        assert list(response.target_change.target_ids) == [TARGET]
    finally:
        stream.close()
