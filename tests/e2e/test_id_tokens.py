"""ID tokens as production checks them, over HTTP with real Auth-emulator tokens: a revoked
session, a disabled user and a deleted user are refused (401) the first time an instance sees
their token, and a token whose subject cannot be a Firestore document id is a 401, not a 500.

The per-instance cache of checked tokens (a token seen within ID_TOKEN_RECHECK_SECONDS is not
looked up again) is pinned against the real Auth emulator in the last tests, with a clock of
the test's own."""

from __future__ import annotations

import time
from typing import Any, Final

import pytest

from aide.adapters.identity import CheckedTokens, FirebaseTokenVerifier
from aide.domain.access import NotAuthenticated
from tests.fixtures.stack import DEFAULT_PASSWORD, AuthUser, PlatformHandle

TIMEOUT_S: Final = 60


def me(stack: PlatformHandle, user: AuthUser) -> Any:
    return stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT_S)


def update_account(stack: PlatformHandle, uid: str, **fields: Any) -> None:
    stack._identity(
        "POST", f"projects/{stack.project}/accounts:update", {"localId": uid, **fields}, admin=True
    )


def revoke_sessions(stack: PlatformHandle, uid: str) -> None:
    """What firebase_admin.auth.revoke_refresh_tokens does: tokens issued before now are void.
    Waits first so the token under test is issued in an earlier second (`iat` is in seconds)."""
    time.sleep(1.1)
    update_account(stack, uid, validSince=str(int(time.time())))


def assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_revoked_session_is_refused(platform: PlatformHandle) -> None:
    user = platform.create_user()
    fresh = platform.sign_in(user.email)  # a token no instance has checked yet
    revoke_sessions(platform, user.uid)
    assert_unauthenticated(me(platform, fresh))
    # Signing in again gives a token issued after the revocation, which works.
    assert me(platform, platform.sign_in(user.email)).status_code == 200


def test_a_disabled_users_token_is_refused(platform: PlatformHandle) -> None:
    user = platform.create_user()
    fresh = platform.sign_in(user.email)
    update_account(platform, user.uid, disableUser=True)
    assert_unauthenticated(me(platform, fresh))


def test_a_deleted_users_token_is_refused_and_provisions_nothing(platform: PlatformHandle) -> None:
    user = platform.create_user()
    platform._identity(
        "POST", f"projects/{platform.project}/accounts:delete", {"localId": user.uid}, admin=True
    )
    assert_unauthenticated(me(platform, user))
    assert not platform.db.collection("users").document(user.uid).get().exists


@pytest.mark.parametrize("uid", ["a/b", "__x__", "..", "."])
def test_a_subject_that_cannot_be_a_document_id_is_401_not_500(
    platform: PlatformHandle, uid: str
) -> None:
    email = f"odd-{time.time_ns()}@example.com"
    platform._identity(
        "POST",
        f"projects/{platform.project}/accounts",
        {"localId": uid, "email": email, "password": DEFAULT_PASSWORD},
        admin=True,
    )
    user = platform.sign_in(email)
    assert user.uid == uid
    for function, path in (("users", "/me"), ("tasks", "/"), ("projects", "/")):
        response = platform.http.get(
            platform.url(function, path), headers=user.headers, timeout=TIMEOUT_S
        )
        assert_unauthenticated(response)


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_checked_token_is_trusted_for_the_recheck_window_then_checked_again(
    platform: PlatformHandle,
) -> None:
    clock = FakeClock()
    verifier = FirebaseTokenVerifier(
        platform.project, checked=CheckedTokens(clock=clock), recheck_seconds=lambda: 30
    )
    user = platform.create_user()
    assert verifier.verify(user.id_token).uid == user.uid
    revoke_sessions(platform, user.uid)
    clock.now += 29
    assert verifier.verify(user.id_token).uid == user.uid  # still within the window
    clock.now += 2
    with pytest.raises(NotAuthenticated):
        verifier.verify(user.id_token)


def test_a_zero_window_checks_every_call(platform: PlatformHandle) -> None:
    verifier = FirebaseTokenVerifier(platform.project, recheck_seconds=lambda: 0)
    user = platform.create_user()
    assert verifier.verify(user.id_token).uid == user.uid
    update_account(platform, user.uid, disableUser=True)
    with pytest.raises(NotAuthenticated):
        verifier.verify(user.id_token)


def test_the_cache_never_outlives_the_tokens_expiry() -> None:
    clock = FakeClock()
    checked = CheckedTokens(clock=clock, max_entries=2)
    checked.put("t1", {"sub": "a", "exp": clock.now + 5}, ttl_seconds=30)
    assert checked.get("t1") is not None
    clock.now += 5
    assert checked.get("t1") is None
    for token in ("t2", "t3", "t4"):
        checked.put(token, {"sub": token, "exp": clock.now + 100}, ttl_seconds=30)
    assert checked.get("t2") is None  # the oldest went first
    assert checked.get("t4") is not None
