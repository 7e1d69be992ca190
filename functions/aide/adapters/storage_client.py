"""The process-wide Cloud Storage client, created on first use.

google-cloud-storage sends requests to STORAGE_EMULATOR_HOST when it is set but still wants
credentials, so the emulator gets anonymous ones; production uses Application Default Credentials.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from aide import config

if TYPE_CHECKING:
    from google.cloud.storage import Client

_lock = threading.Lock()
_client: Client | None = None


def create_storage_client(project: str | None = None) -> Client:
    from google.cloud import storage

    project = project or config.project_id()
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project=project, credentials=AnonymousCredentials())
    return storage.Client(project=project)


def get_storage() -> Client:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = create_storage_client()
    return _client
