"""Who sent a request: an admin (rules bypassed) or a client with ``request.auth``.

Server SDKs talking to an emulator send ``authorization: Bearer owner``; the official emulator
lets those through without rules, and so does this one. Any other bearer token is a Firebase ID
token (a JWT; the Auth emulator's are unsigned, ``alg: none``); signatures are not checked, as
in the official emulator. No header at all is an unauthenticated client.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from emulators.firestore.errors import EmulatorError

OWNER_TOKEN = "owner"


class InvalidToken(ValueError):
    """A bearer token that is not a usable Firebase ID token."""


@dataclass(frozen=True)
class Caller:
    admin: bool
    auth: dict[str, Any] | None = None  # request.auth: {"uid", "token"} or None
    # Why the credentials are unusable; reported (UNAUTHENTICATED) only where rules apply, so
    # a project without rules keeps accepting any request.
    problem: str | None = None

    def check_credentials(self) -> None:
        if self.problem is not None:
            raise EmulatorError(
                grpc.StatusCode.UNAUTHENTICATED,
                f"Invalid authentication credentials: {self.problem}.",
            )


ADMIN = Caller(admin=True)
ANONYMOUS = Caller(admin=False)


def caller_from_metadata(metadata: Iterable[tuple[str, Any]] | None) -> Caller:
    tokens = [
        str(value)
        for key, value in (metadata or ())
        if key.lower() == "authorization" and isinstance(value, str)
    ]
    if not tokens:
        return ANONYMOUS
    for header in tokens:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip() == OWNER_TOKEN:
            return ADMIN
    scheme, _, token = tokens[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Caller(admin=False, problem="the Authorization header must be 'Bearer <ID token>'")
    try:
        return Caller(admin=False, auth=auth_from_id_token(token.strip()))
    except InvalidToken as exc:
        return Caller(admin=False, problem=str(exc))


def auth_from_id_token(token: str) -> dict[str, Any]:
    """``request.auth`` for a Firebase ID token: ``{"uid": sub, "token": claims}``."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("the bearer token is not a JWT")
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, binascii.Error):
        raise InvalidToken("the bearer token's payload is not base64url JSON") from None
    if not isinstance(claims, dict):
        raise InvalidToken("the bearer token's payload is not a JSON object")
    uid = claims.get("sub") or claims.get("user_id")
    if not isinstance(uid, str) or not uid:
        raise InvalidToken("the ID token has no 'sub' claim")
    return {"uid": uid, "token": claims}
