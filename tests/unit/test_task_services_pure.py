"""The pure parts of the task services: list cursors and Idempotency-Key handling."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from aide.domain.page_cursor import InvalidCursor, decode_cursor, encode_cursor
from aide.services.idempotent_requests import (
    InvalidIdempotencyKey,
    record_id,
    request_hash,
    validate_key,
)

CREATED = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def test_cursor_round_trips_the_position() -> None:
    cursor = encode_cursor(CREATED, "abc123", "filters-1")
    assert "abc123" not in cursor and "=" not in cursor
    assert decode_cursor(cursor, "filters-1") == (CREATED, "abc123")


def test_cursor_is_bound_to_its_filters() -> None:
    with pytest.raises(InvalidCursor, match="other filters"):
        decode_cursor(encode_cursor(CREATED, "abc123", "filters-1"), "filters-2")


def _forge(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        _forge([1, 2]),
        _forge({"v": 2, "t": "2026-01-02T03:04:05Z", "i": "x", "f": "filters-1"}),
        _forge({"v": 1, "t": "yesterday", "i": "x", "f": "filters-1"}),
        _forge({"v": 1, "t": "2026-01-02T03:04:05", "i": "x", "f": "filters-1"}),
        _forge({"v": 1, "t": "2026-01-02T03:04:05Z", "i": "a/b", "f": "filters-1"}),
        _forge({"v": 1, "t": "2026-01-02T03:04:05Z", "i": 7, "f": "filters-1"}),
        _forge({"v": 1, "i": "x", "f": "filters-1"}),
    ],
)
def test_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, "filters-1")


def test_request_hash_ignores_key_order_and_separates_scopes() -> None:
    assert request_hash("s", {"a": 1, "b": [1, 2]}) == request_hash("s", {"b": [1, 2], "a": 1})
    assert request_hash("s", {"a": 1}) != request_hash("s", {"a": 2})
    assert request_hash("tasks", {"a": 1}) != request_hash("groups", {"a": 1})


def test_record_ids_are_per_user_and_scope() -> None:
    ids = {record_id("u1", "s", "k"), record_id("u2", "s", "k"), record_id("u1", "t", "k")}
    assert len(ids) == 3 and all(len(i) == 64 and "/" not in i for i in ids)


@pytest.mark.parametrize("key", ["", "with space", "é", "x" * 256, "tab\t"])
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        validate_key(key)


def test_good_keys_pass() -> None:
    assert validate_key("order-42/retry_1") == "order-42/retry_1"
