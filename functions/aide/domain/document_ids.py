"""Names clients choose for Firestore things: document ids (a URL path segment, an id in a body)
and the field names of free-form maps.

Firestore answers INVALID_ARGUMENT for an id containing '/', for '.' and '..', for names of the
reserved form `__x__` and for ids over 1,500 bytes. Such a name can never denote anything that
exists, so callers check it first and answer 404 (a path id) or 400 (an id in a body) instead
of letting the client library's error surface as a 500.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, Field

__all__ = ["MAX_ID_BYTES", "ResourceId", "is_reserved_name", "is_usable_id"]

MAX_ID_BYTES: Final = 1500
_RESERVED_NAME: Final = re.compile(r"__.*__", re.DOTALL)


def is_reserved_name(name: str) -> bool:
    """Whether `name` has the `__x__` form Firestore keeps for itself (ids and field names)."""
    return _RESERVED_NAME.fullmatch(name) is not None


def is_usable_id(value: str) -> bool:
    """Whether Firestore accepts `value` as a document id."""
    return (
        0 < len(value.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES
        and "/" not in value
        and value not in (".", "..")
        and not is_reserved_name(value)
    )


def _usable_id(value: str) -> str:
    if not is_usable_id(value):
        raise ValueError("not a valid document id")
    return value


# An id a client passes in a body to name an existing document (agent, project, task).
ResourceId = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[^/]+$"), AfterValidator(_usable_id)
]
