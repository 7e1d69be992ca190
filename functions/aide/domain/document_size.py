"""Firestore's storage size of a document, as its pricing documentation computes it.

The quota layer counts stored bytes with this estimate: document name (each path segment plus one,
plus 16), each field name plus one, each value by type, plus 32 bytes of overhead per document.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

DOCUMENT_OVERHEAD_BYTES = 32
NAME_OVERHEAD_BYTES = 16


def document_name_bytes(path: str) -> int:
    return sum(len(segment.encode()) + 1 for segment in path.split("/") if segment) + (
        NAME_OVERHEAD_BYTES
    )


def value_bytes(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, (int, float, datetime)):
        return 8
    if isinstance(value, str):
        return len(value.encode()) + 1
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, Mapping):
        return sum(len(str(key).encode()) + 1 + value_bytes(item) for key, item in value.items())
    if isinstance(value, Sequence):
        # Arrays and vectors (a vector is a sequence of doubles) alike.
        return sum(value_bytes(item) for item in value)
    return 8  # references, geo points and the like: small and rare here


def document_bytes(path: str, data: Mapping[str, Any]) -> int:
    """Stored size of the document at `path` ("collection/id") holding `data`."""
    return document_name_bytes(path) + value_bytes(data) + DOCUMENT_OVERHEAD_BYTES
