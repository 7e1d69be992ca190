"""Client credentials for tests of security rules through the emulator.

The Python server SDKs always send ``Bearer owner`` to an emulator (rules bypassed).
``client_as`` gives a ``google.cloud.firestore.Client`` that sends a Firebase ID token instead,
as the web SDK does, so its requests are evaluated against the rules; ``id_token`` mints the
unsigned (``alg: none``) tokens the Auth emulator issues.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def id_token(
    uid: str,
    project: str = "demo-aide",
    *,
    email: str | None = None,
    email_verified: bool = True,
    sign_in_provider: str = "password",
    **claims: Any,
) -> str:
    """An unsigned Firebase ID token for ``uid`` with optional custom ``claims`` (e.g. role)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "auth_time": now,
        "user_id": uid,
        "sub": uid,
        "iat": now,
        "exp": now + 3600,
        "email_verified": email_verified,
        "firebase": {"identities": {}, "sign_in_provider": sign_in_provider},
        **claims,
    }
    if email is not None:
        payload["email"] = email
        payload["firebase"]["identities"] = {"email": [email]}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."


def client_as(project: str, token: str | None) -> Any:
    """A Firestore client (``FIRESTORE_EMULATOR_HOST`` must be set) that authenticates with
    ``token`` (an ID token), or with nothing at all when ``token`` is None."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    client = firestore.Client(project=project, credentials=AnonymousCredentials())
    # The client keeps one metadata list for every RPC (and Listen); swap its "owner" header.
    metadata = client._rpc_metadata
    metadata[:] = [(key, value) for key, value in metadata if key.lower() != "authorization"]
    if token is not None:
        metadata.append(("authorization", f"Bearer {token}"))
    return client
