"""Firebase ID token verification through firebase_admin.auth.

With FIREBASE_AUTH_EMULATOR_HOST set, firebase_admin accepts the Auth emulator's (unsigned)
tokens and needs no credentials; in production it checks Google's signature, issuer, audience
(this project) and expiry. The firebase_admin app is created on first use, under a name of its
own so that it never collides with another part of the code initialising the default app.

Revocation: the signature check is local (Google's certificates are cached), but a revoked
session or a disabled user is only visible to Firebase Auth, so `check_revoked=True` costs one
Auth API call (accounts:lookup) per verification. A token is a bearer credential reused for up to
an hour, and a dashboard sends bursts of calls with the same one: each instance remembers the
tokens it checked for `ID_TOKEN_RECHECK_SECONDS` (default 30 s, never past the token's expiry),
so one active user costs about one lookup per instance per 30 s instead of one per call, and a
revoked or disabled session stops within that window (at once on an instance that has not seen
the token yet). Suspending a user through the admin API is immediate: users/{uid} is read on
every call.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aide import config
from aide.domain.access import IdentityUnavailable, NotAuthenticated
from aide.domain.document_ids import is_usable_id
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from firebase_admin import App

APP_NAME = "aide-identity"
log = get_logger(__name__)


def emulator_tokens_allowed(env: Mapping[str, str]) -> bool:
    """False in a deployed function (Cloud Run sets K_SERVICE) that has the Auth emulator
    variable set: firebase_admin would then accept unsigned tokens, i.e. anyone as anyone."""
    if not env.get("FIREBASE_AUTH_EMULATOR_HOST"):
        return True
    return env.get("FUNCTIONS_EMULATOR") == "true" or not env.get("K_SERVICE")


@dataclass(frozen=True)
class VerifiedIdentity:
    """What a valid ID token says about its holder."""

    uid: str
    email: str | None = None
    display_name: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)


class TokenVerifier(Protocol):
    def verify(self, id_token: str) -> VerifiedIdentity:
        """The token's identity; NotAuthenticated if it is not valid, IdentityUnavailable if it
        cannot be checked right now."""
        ...


class CheckedTokens:
    """Claims of the ID tokens this instance checked recently, each until a deadline (wall clock,
    seconds). Keyed by the token's SHA-256; bounded, the oldest entry goes first."""

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._entries: OrderedDict[bytes, tuple[float, dict[str, Any]]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    @staticmethod
    def _key(id_token: str) -> bytes:
        return hashlib.sha256(id_token.encode()).digest()

    def get(self, id_token: str) -> dict[str, Any] | None:
        key = self._key(id_token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            deadline, claims = entry
            if self._clock() >= deadline:
                del self._entries[key]
                return None
            return claims

    def put(self, id_token: str, claims: Mapping[str, Any], ttl_seconds: float) -> None:
        expires = claims.get("exp")
        deadline = self._clock() + ttl_seconds
        if isinstance(expires, int | float):
            deadline = min(deadline, float(expires))
        with self._lock:
            self._entries[self._key(id_token)] = (deadline, dict(claims))
            self._entries.move_to_end(self._key(id_token))
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)


class FirebaseTokenVerifier:
    def __init__(
        self,
        project: str | None = None,
        checked: CheckedTokens | None = None,
        recheck_seconds: Callable[[], int] = config.id_token_recheck_seconds,
    ) -> None:
        self._project = project
        self._app: App | None = None
        self._lock = threading.Lock()
        self._checked = checked or CheckedTokens()
        self._recheck_seconds = recheck_seconds

    def _get_app(self) -> App:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    import firebase_admin

                    try:
                        self._app = firebase_admin.get_app(APP_NAME)
                    except ValueError:
                        # No credential argument: ApplicationDefault, which loads lazily and is
                        # never asked for in emulator mode.
                        self._app = firebase_admin.initialize_app(
                            options={"projectId": self._project or config.project_id()},
                            name=APP_NAME,
                        )
        return self._app

    def verify(self, id_token: str) -> VerifiedIdentity:
        if not emulator_tokens_allowed(os.environ):
            log.error("FIREBASE_AUTH_EMULATOR_HOST is set in a deployed function; refusing tokens")
            raise IdentityUnavailable()
        claims = self._checked_claims(id_token)
        uid = claims.get("uid") or claims.get("sub")
        if not isinstance(uid, str) or not uid:
            raise NotAuthenticated("ID token has no subject")
        if not is_usable_id(uid):
            # users/{uid} could not exist: Firestore refuses such a document id.
            raise NotAuthenticated("ID token subject is not a valid user id")
        email = claims.get("email")
        name = claims.get("name")
        return VerifiedIdentity(
            uid=uid,
            email=email if isinstance(email, str) else None,
            display_name=name if isinstance(name, str) else None,
            claims=dict(claims),
        )

    def _checked_claims(self, id_token: str) -> dict[str, Any]:
        """The token's claims, checked (signature, expiry, revocation, disabled user) by this
        instance within the last `recheck_seconds`."""
        from firebase_admin import auth, exceptions

        ttl = self._recheck_seconds()
        if ttl > 0:
            cached = self._checked.get(id_token)
            if cached is not None:
                return cached
        try:
            claims = dict(auth.verify_id_token(id_token, app=self._get_app(), check_revoked=True))
        except auth.CertificateFetchError as error:
            raise IdentityUnavailable() from error
        except (
            ValueError,
            auth.InvalidIdTokenError,
            auth.UserDisabledError,
            auth.UserNotFoundError,
        ) as error:
            # Expired and revoked tokens are InvalidIdTokenError subclasses; a deleted user's
            # token is UserNotFoundError once revocation is checked.
            raise NotAuthenticated("Invalid or expired ID token") from error
        except exceptions.FirebaseError as error:
            # The revocation lookup could not be made (Auth unreachable, quota, permissions).
            log.warning("ID token revocation check failed: %s", error)
            raise IdentityUnavailable() from error
        if ttl > 0:
            self._checked.put(id_token, claims, ttl)
        return claims


_lock = threading.Lock()
_verifier: FirebaseTokenVerifier | None = None


def get_token_verifier() -> FirebaseTokenVerifier:
    global _verifier
    if _verifier is None:
        with _lock:
            if _verifier is None:
                _verifier = FirebaseTokenVerifier()
    return _verifier
