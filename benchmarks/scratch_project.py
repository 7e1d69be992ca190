"""A throwaway project on an in-process Firestore emulator, so each measurement starts empty."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulators.firestore import FirestoreEmulator


@contextmanager
def scratch_project(firestore: FirestoreEmulator) -> Iterator[tuple[str, Any]]:
    """A fresh project id and a Firestore client pinned to it; the project is cleared after."""
    from emulators.stack.clients import firestore_client

    project = f"bench-{uuid.uuid4().hex[:10]}"
    client = firestore_client(firestore.address, project)
    try:
        yield project, client
    finally:
        client.close()
        firestore.clear(project)
