"""Opaque cursors of newest-first listings: the (createdAt, id) position after a page's last
item, bound to the listing (caller and filters) it was made for, so that a cursor replayed with
other filters is refused instead of silently skipping or repeating items."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final, TypeVar

from aide.domain.timestamps import rfc3339

T = TypeVar("T")
Position = tuple[datetime, str]

CURSOR_VERSION: Final = 1
# Largest `limit` of a cursor-paginated listing.
MAX_PAGE_SIZE: Final = 100


class InvalidCursor(ValueError):
    """`cursor` is not one this listing produced for the same filters (400)."""


def listing_fingerprint(user_id: str, filters: Mapping[str, object]) -> str:
    canonical = json.dumps({"u": user_id, "f": dict(filters)}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(created_at: datetime, document_id: str, fingerprint: str) -> str:
    body = {"v": CURSOR_VERSION, "t": rfc3339(created_at), "i": document_id, "f": fingerprint}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> tuple[datetime, str]:
    """The (createdAt, id) position a cursor holds; InvalidCursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        if not isinstance(body, dict) or body.get("v") != CURSOR_VERSION:
            raise ValueError("unknown cursor version")
        created_at = datetime.fromisoformat(str(body["t"]).replace("Z", "+00:00"))
        document_id = body["i"]
        if created_at.tzinfo is None or not isinstance(document_id, str) or not document_id:
            raise ValueError("malformed cursor position")
        if "/" in document_id:
            raise ValueError("malformed cursor position")
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise InvalidCursor("cursor is not valid") from error
    if body.get("f") != fingerprint:
        raise InvalidCursor("cursor belongs to a listing with other filters")
    return created_at, document_id


def read_page(
    fetch: Callable[[int, Position | None], list[T]],
    position: Callable[[T], Position],
    *,
    limit: int,
    cursor: str | None,
    fingerprint: str,
) -> tuple[list[T], str | None]:
    """One page of a listing and the cursor of the next (None on the last page).

    `fetch(n, after)` answers up to n items in listing order after the position `after`;
    asking for one more than the page tells whether another page exists without a second query.
    """
    after = decode_cursor(cursor, fingerprint) if cursor else None
    items = fetch(limit + 1, after)
    page = items[:limit]
    if len(items) <= limit or not page:
        return page, None
    return page, encode_cursor(*position(page[-1]), fingerprint)
