"""The process-wide Firestore client, created on first use.

google.cloud.firestore.Client rather than firebase_admin.firestore.client(): the latter insists on
credentials even against the emulator, while this one uses anonymous credentials when
FIRESTORE_EMULATOR_HOST is set and Application Default Credentials otherwise.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from aide import config

if TYPE_CHECKING:
    from google.cloud.firestore import Client

_lock = threading.Lock()
_client: Client | None = None


def create_firestore_client(project: str | None = None) -> Client:
    from google.cloud import firestore

    project = project or config.project_id()
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return firestore.Client(project=project, credentials=AnonymousCredentials())
    return firestore.Client(project=project)


def get_firestore() -> Client:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = create_firestore_client()
    return _client


def reset_firestore_client() -> None:
    """Forget the cached client (after the environment changed, e.g. a test switched emulators)."""
    global _client
    with _lock:
        _client = None
