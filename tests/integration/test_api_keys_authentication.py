"""The authentication and API key services against the Firestore emulator."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aide.adapters.identity import VerifiedIdentity
from aide.adapters.repositories import ApiKeyRepository, PlansRepository, UserRepository
from aide.domain.access import NotAuthenticated, ResourceNotFound
from aide.domain.api_keys import ApiKeyCreate, hash_api_key
from aide.domain.system_config import DEFAULT_PLANS, PlanName, default_plans_config
from aide.domain.users import UserRole
from aide.services import api_keys
from aide.services.authentication import (
    Credential,
    CredentialKind,
    authenticate,
    provision_user,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


class NoTokens:
    """A verifier for tests that present only API keys: any ID token use is a test bug."""

    def verify(self, id_token: str) -> VerifiedIdentity:
        raise AssertionError("no ID token expected in this test")


def key_credential(key: str) -> Credential:
    return Credential(CredentialKind.API_KEY, key)


def test_first_call_provisions_the_user_with_the_default_plan(fs_client: Any) -> None:
    identity = VerifiedIdentity(uid="ada", email="ada@example.com", display_name="Ada")
    user = provision_user(fs_client, identity, now=lambda: NOW)
    stored = UserRepository(fs_client).get("ada")
    assert stored == user
    assert user.role == UserRole.USER and user.status == "active"
    assert user.email == "ada@example.com" and user.display_name == "Ada"
    free = DEFAULT_PLANS[PlanName.FREE]
    assert user.subscription.plan == "free"
    assert user.quotas.api_calls.limit == free.api_calls_per_day
    assert user.quotas.task_minutes.limit == free.task_minutes_per_month
    assert user.quotas.storage_bytes.limit == free.storage_bytes
    # A second call returns the stored document and writes nothing new.
    later = provision_user(fs_client, identity, now=lambda: NOW + timedelta(days=1))
    assert later.created_at == NOW


def test_provisioning_uses_the_configured_default_plan(fs_client: Any) -> None:
    config = default_plans_config()
    config = config.model_copy(update={"default_plan": PlanName.PRO})
    PlansRepository(fs_client).create(config)
    user = provision_user(fs_client, VerifiedIdentity(uid="bob"), now=lambda: NOW)
    assert user.subscription.plan == "pro"
    assert user.quotas.api_calls.limit == DEFAULT_PLANS[PlanName.PRO].api_calls_per_day


def test_concurrent_first_calls_create_one_user(fs_client: Any) -> None:
    identity = VerifiedIdentity(uid="racer", email="racer@example.com")
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def first_call() -> None:
        try:
            start.wait(timeout=30)
            results.append(provision_user(fs_client, identity))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=first_call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == 6
    assert len({user.created_at for user in results}) == 1
    documents = list(fs_client.collection("users").stream())
    assert [document.id for document in documents] == ["racer"]


def test_api_key_lifecycle(fs_client: Any) -> None:
    provision_user(fs_client, VerifiedIdentity(uid="dev"))
    issued = api_keys.create_api_key(
        fs_client, "dev", ApiKeyCreate(name="ci key", scopes=["tasks:read"])
    )
    stored = ApiKeyRepository(fs_client).get(issued.api_key.id)
    assert stored is not None
    # Only the hash is stored; the key appears nowhere in the document.
    assert stored.hash == hash_api_key(issued.key)
    document = fs_client.collection("api_keys").document(stored.id).get().to_dict()
    assert issued.key not in str(document)

    principal = authenticate(fs_client, NoTokens(), key_credential(issued.key))
    assert principal.uid == "dev"
    assert principal.api_key_id == issued.api_key.id
    assert principal.scopes == frozenset({"tasks:read"})
    assert principal.has_scope("tasks:read") and not principal.has_scope("tasks:write")
    touched = ApiKeyRepository(fs_client).get(issued.api_key.id)
    assert touched is not None and touched.last_used_at is not None

    assert [key.id for key in api_keys.list_api_keys(fs_client, "dev")] == [issued.api_key.id]
    revoked = api_keys.revoke_api_key(fs_client, "dev", issued.api_key.id)
    assert revoked.revoked_at is not None
    again = api_keys.revoke_api_key(fs_client, "dev", issued.api_key.id)
    assert again.revoked_at == revoked.revoked_at
    with pytest.raises(NotAuthenticated, match="revoked"):
        authenticate(fs_client, NoTokens(), key_credential(issued.key))


def test_expired_and_forged_keys_are_refused(fs_client: Any) -> None:
    provision_user(fs_client, VerifiedIdentity(uid="dev"))
    soon = datetime.now(UTC) + timedelta(minutes=5)
    issued = api_keys.create_api_key(
        fs_client, "dev", ApiKeyCreate(name="short", scopes=["*"], expires_at=soon)
    )
    authenticate(fs_client, NoTokens(), key_credential(issued.key))
    with pytest.raises(NotAuthenticated, match="expired"):
        authenticate(
            fs_client,
            NoTokens(),
            key_credential(issued.key),
            now=lambda: soon + timedelta(seconds=1),
        )
    forged = issued.key[:-2] + ("AA" if not issued.key.endswith("AA") else "BB")
    for presented in (forged, "aide_0123456789abcdef_nope", "aide_garbage"):
        with pytest.raises(NotAuthenticated, match="Invalid API key"):
            authenticate(fs_client, NoTokens(), key_credential(presented))
    with pytest.raises(NotAuthenticated):
        authenticate(fs_client, NoTokens(), None)


def test_expiry_must_be_in_the_future(fs_client: Any) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(api_keys.InvalidExpiry):
        api_keys.create_api_key(
            fs_client, "dev", ApiKeyCreate(name="late", scopes=["*"], expires_at=past)
        )
    assert list(fs_client.collection("api_keys").stream()) == []


def test_another_users_key_is_not_found(fs_client: Any) -> None:
    issued = api_keys.create_api_key(fs_client, "owner", ApiKeyCreate(name="mine", scopes=["*"]))
    with pytest.raises(ResourceNotFound):
        api_keys.get_api_key(fs_client, "intruder", issued.api_key.id)
    with pytest.raises(ResourceNotFound):
        api_keys.revoke_api_key(fs_client, "intruder", issued.api_key.id)
    assert api_keys.list_api_keys(fs_client, "intruder") == []
    stored = ApiKeyRepository(fs_client).get(issued.api_key.id)
    assert stored is not None and stored.revoked_at is None


def test_key_of_a_deleted_user_is_refused(fs_client: Any) -> None:
    issued = api_keys.create_api_key(fs_client, "ghost", ApiKeyCreate(name="orphan", scopes=["*"]))
    with pytest.raises(NotAuthenticated):
        authenticate(fs_client, NoTokens(), key_credential(issued.key))
