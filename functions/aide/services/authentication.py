"""Turning a request's credentials into a Principal.

Two kinds of credential:
* a Firebase ID token, `Authorization: Bearer <token>` — the user acting themself (every scope);
  the first call of a new uid provisions users/{uid} with the default plan's quotas;
* an API key, `Authorization: Bearer aide_...` or `X-API-Key: aide_...` — acting for the key's
  owner within the key's scopes; revocation, expiry and the hash are checked on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from google.api_core.exceptions import AlreadyExists, Conflict

from aide.adapters.identity import TokenVerifier, VerifiedIdentity
from aide.adapters.repositories import ApiKeyRepository, UserRepository
from aide.adapters.unit_of_work import UnitOfWork, run_in_transaction
from aide.domain.access import NotAuthenticated, Principal
from aide.domain.api_keys import API_KEY_PREFIX, ApiKey, api_key_id, matches_hash
from aide.domain.system_config import Plan
from aide.domain.timestamps import utc_now
from aide.domain.users import Subscription, User, quotas_for_plan

if TYPE_CHECKING:
    from google.cloud.firestore import Client

# lastUsedAt is informative; writing it on every call would double the cost of a keyed request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class CredentialKind(StrEnum):
    ID_TOKEN = "id_token"
    API_KEY = "api_key"


@dataclass(frozen=True)
class Credential:
    kind: CredentialKind
    value: str


def read_credential(authorization: str | None, x_api_key: str | None) -> Credential | None:
    """The credential a request carries, None when it carries none.

    NotAuthenticated for an Authorization header that is not `Bearer <something>`.
    `X-API-Key` is honoured only when there is no Authorization header, so one request never
    mixes two identities.
    """
    if authorization is not None and authorization.strip():
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise NotAuthenticated("Authorization header must be 'Bearer <token>'")
        if value.startswith(API_KEY_PREFIX):
            return Credential(CredentialKind.API_KEY, value)
        return Credential(CredentialKind.ID_TOKEN, value)
    if x_api_key is not None and x_api_key.strip():
        return Credential(CredentialKind.API_KEY, x_api_key.strip())
    return None


def authenticate(
    db: Client,
    verifier: TokenVerifier,
    credential: Credential | None,
    *,
    now: Callable[[], datetime] = utc_now,
) -> Principal:
    """The principal behind `credential`; NotAuthenticated when there is none or it is not valid.

    Status, role and scope are not judged here (see aide.domain.access.authorize).
    """
    if credential is None:
        raise NotAuthenticated()
    if credential.kind is CredentialKind.ID_TOKEN:
        identity = verifier.verify(credential.value)
        user = provision_user(db, identity, now=now)
        return Principal(uid=user.uid, role=user.role, user=user)
    return _authenticate_api_key(db, credential.value, now())


def _authenticate_api_key(db: Client, presented: str, now: datetime) -> Principal:
    key_id = api_key_id(presented)
    keys = ApiKeyRepository(db)
    key = keys.get(key_id) if key_id else None
    if key is None or not matches_hash(presented, key.hash):
        raise NotAuthenticated("Invalid API key")
    if key.revoked_at is not None:
        raise NotAuthenticated("API key revoked")
    if not key.is_usable(now):
        raise NotAuthenticated("API key expired")
    user = UserRepository(db).get(key.user_id)
    if user is None:
        raise NotAuthenticated("Invalid API key")
    _touch(keys, key, now)
    return Principal(
        uid=user.uid,
        role=user.role,
        user=user,
        api_key_id=key.id,
        scopes=frozenset(key.scopes),
    )


def _touch(keys: ApiKeyRepository, key: ApiKey, now: datetime) -> None:
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        keys.update(key.id, {"lastUsedAt": now})


def initial_user(identity: VerifiedIdentity, plan: Plan, now: datetime) -> User:
    return User(
        uid=identity.uid,
        email=identity.email,
        display_name=identity.display_name,
        subscription=Subscription(plan=str(plan.name)),
        quotas=quotas_for_plan(plan, now),
        created_at=now,
        updated_at=now,
    )


def provision_user(
    db: Client, identity: VerifiedIdentity, *, now: Callable[[], datetime] = utc_now
) -> User:
    """users/{uid}, created with the default plan's quotas if this is the uid's first call.

    Create-if-absent runs in a transaction; two concurrent first calls still end with one
    document, because the loser either re-reads it on retry or fails its create and reads it.
    """
    users = UserRepository(db)
    existing = users.get(identity.uid)
    if existing is not None:
        return existing

    def create_if_absent(uow: UnitOfWork) -> User:
        found = uow.users.get(identity.uid)
        if found is not None:
            return found
        plans_config = uow.plans.load()
        plan = plans_config.plan(str(plans_config.default_plan))
        user = initial_user(identity, plan, now())
        uow.users.create(user)
        return user

    try:
        return run_in_transaction(db, create_if_absent)
    except (AlreadyExists, Conflict):
        raced = users.get(identity.uid)
        if raced is None:
            raise
        return raced
