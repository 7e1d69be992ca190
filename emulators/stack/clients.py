"""Clients of the stack's emulators for the stack's own process (seeding, tests).

They are pinned to an explicit emulator host instead of reading FIRESTORE_EMULATOR_HOST, so a
stack and another emulator configured through the process environment (the tests' in-process
Firestore fixture) can live side by side without fighting over one variable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.firestore import Client


def firestore_client(host: str, project: str) -> Client:
    # Imported here: the Firestore client is heavy and only needed once a stack is up.
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.firestore import Client

    client = Client(project=project, credentials=AnonymousCredentials())
    # google-cloud-firestore reads the emulator host only from the environment, once, in its
    # constructor; setting it afterwards gives the insecure channel and "Bearer owner" metadata
    # it uses for any emulator, for this client alone.
    client._emulator_host = host
    return client
