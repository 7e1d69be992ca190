"""Firebase ID token verification through firebase_admin.auth.

With FIREBASE_AUTH_EMULATOR_HOST set, firebase_admin accepts the Auth emulator's (unsigned)
tokens and needs no credentials; in production it checks Google's signature, issuer, audience
(this project) and expiry. The firebase_admin app is created on first use, under a name of its
own so that it never collides with another part of the code initialising the default app.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aide import config
from aide.domain.access import IdentityUnavailable, NotAuthenticated
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


class FirebaseTokenVerifier:
    def __init__(self, project: str | None = None) -> None:
        self._project = project
        self._app: App | None = None
        self._lock = threading.Lock()

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
        from firebase_admin import auth

        if not emulator_tokens_allowed(os.environ):
            log.error("FIREBASE_AUTH_EMULATOR_HOST is set in a deployed function; refusing tokens")
            raise IdentityUnavailable()
        try:
            claims = auth.verify_id_token(id_token, app=self._get_app())
        except auth.CertificateFetchError as error:
            raise IdentityUnavailable() from error
        except (ValueError, auth.InvalidIdTokenError, auth.UserDisabledError) as error:
            # Expired and revoked tokens are InvalidIdTokenError subclasses.
            raise NotAuthenticated("Invalid or expired ID token") from error
        uid = claims.get("uid") or claims.get("sub")
        if not isinstance(uid, str) or not uid:
            raise NotAuthenticated("ID token has no subject")
        email = claims.get("email")
        name = claims.get("name")
        return VerifiedIdentity(
            uid=uid,
            email=email if isinstance(email, str) else None,
            display_name=name if isinstance(name, str) else None,
            claims=dict(claims),
        )


_lock = threading.Lock()
_verifier: FirebaseTokenVerifier | None = None


def get_token_verifier() -> FirebaseTokenVerifier:
    global _verifier
    if _verifier is None:
        with _lock:
            if _verifier is None:
                _verifier = FirebaseTokenVerifier()
    return _verifier
