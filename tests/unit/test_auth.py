"""Pure parts of authentication and authorization: roles, scopes, key format, credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aide.adapters.identity import emulator_tokens_allowed
from aide.domain.access import (
    KNOWN_SCOPES,
    AccountInactive,
    InsufficientPermissions,
    NotAuthenticated,
    Principal,
    authorize,
    scope_grants,
)
from aide.domain.agents import AgentTaskRequest, title_from_description
from aide.domain.api_keys import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyView,
    api_key_id,
    hash_api_key,
    matches_hash,
)
from aide.domain.system_config import DEFAULT_PLANS, PlanName
from aide.domain.users import User, UserRole, UserStatus, UserUpdate, quotas_for_plan
from aide.services.api_keys import generate_key
from aide.services.authentication import CredentialKind, read_credential

NOW = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
KEY = "aide_0123456789abcdef_s"


def a_user(role: UserRole = UserRole.USER, status: UserStatus = UserStatus.ACTIVE) -> User:
    return User(
        uid="u1",
        role=role,
        status=status,
        quotas=quotas_for_plan(DEFAULT_PLANS[PlanName.FREE], NOW),
    )


def principal(
    role: UserRole = UserRole.USER,
    status: UserStatus = UserStatus.ACTIVE,
    scopes: frozenset[str] | None = None,
) -> Principal:
    user = a_user(role, status)
    return Principal(
        uid=user.uid,
        role=role,
        user=user,
        api_key_id=None if scopes is None else "k",
        scopes=scopes,
    )


@pytest.mark.parametrize(
    ("role", "required", "allowed"),
    [
        (UserRole.USER, UserRole.USER, True),
        (UserRole.USER, UserRole.DEVELOPER, False),
        (UserRole.USER, UserRole.ADMIN, False),
        (UserRole.DEVELOPER, UserRole.USER, True),
        (UserRole.DEVELOPER, UserRole.DEVELOPER, True),
        (UserRole.DEVELOPER, UserRole.ADMIN, False),
        (UserRole.ADMIN, UserRole.USER, True),
        (UserRole.ADMIN, UserRole.DEVELOPER, True),
        (UserRole.ADMIN, UserRole.ADMIN, True),
    ],
)
def test_role_order(role: UserRole, required: UserRole, allowed: bool) -> None:
    assert role.satisfies(required) is allowed
    if allowed:
        authorize(principal(role), required_role=required, scope=None)
    else:
        with pytest.raises(InsufficientPermissions, match="Insufficient permissions"):
            authorize(principal(role), required_role=required, scope=None)


@pytest.mark.parametrize("status", [UserStatus.INACTIVE, UserStatus.SUSPENDED])
def test_inactive_account_is_refused_before_role_and_scope(status: UserStatus) -> None:
    with pytest.raises(AccountInactive, match="Account inactive"):
        authorize(
            principal(UserRole.USER, status, scopes=frozenset()),
            required_role=UserRole.ADMIN,
            scope="tasks:write",
        )


@pytest.mark.parametrize(
    ("granted", "required", "allowed"),
    [
        ({"tasks:read"}, "tasks:read", True),
        ({"tasks:read"}, "tasks:write", False),
        ({"tasks:*"}, "tasks:write", True),
        ({"tasks:*"}, "projects:read", False),
        ({"*"}, "users:write", True),
        # Admin power is never implied by a resource scope or by "*".
        ({"*"}, "admin:write", False),
        ({"users:*"}, "admin:write", False),
        ({"users:write", "users:read"}, "admin:read", False),
        ({"admin:read"}, "admin:write", False),
        ({"admin:write"}, "admin:write", True),
        ({"admin:*"}, "admin:read", True),
        ({"projects:read", "agents:read"}, "agents:read", True),
        (set(), "agents:read", False),
    ],
)
def test_scope_grants(granted: set[str], required: str, allowed: bool) -> None:
    assert scope_grants(frozenset(granted), required) is allowed
    keyed = principal(UserRole.DEVELOPER, scopes=frozenset(granted))
    if allowed:
        authorize(keyed, required_role=UserRole.USER, scope=required)
    else:
        with pytest.raises(InsufficientPermissions, match="lacks scope"):
            authorize(keyed, required_role=UserRole.USER, scope=required)


def test_api_key_acts_only_while_its_owner_may_hold_keys() -> None:
    """A key works with its owner's current role: an owner demoted to `user` has keys that no
    longer work for anything, while the same owner signed in still works."""
    authorize(principal(UserRole.DEVELOPER, scopes=frozenset({"*"})),
              required_role=UserRole.USER, scope="tasks:write")
    with pytest.raises(InsufficientPermissions, match="owner is now a user"):
        authorize(principal(UserRole.USER, scopes=frozenset({"*"})),
                  required_role=UserRole.USER, scope="tasks:write")
    authorize(principal(UserRole.USER), required_role=UserRole.USER, scope="tasks:write")
    # An admin scope held by a key whose owner is no longer admin grants nothing.
    with pytest.raises(InsufficientPermissions):
        authorize(principal(UserRole.DEVELOPER, scopes=frozenset({"admin:*"})),
                  required_role=UserRole.ADMIN, scope="admin:write")


def test_id_token_principal_holds_every_scope() -> None:
    assert principal().has_scope("task_groups:write")
    assert not principal().via_api_key


def test_api_key_create_accepts_only_known_scopes() -> None:
    assert "tasks:read" in KNOWN_SCOPES and "*" in KNOWN_SCOPES
    ok = ApiKeyCreate.model_validate({"name": "ci key", "scopes": ["tasks:read", "tasks:read"]})
    assert ok.scopes == ["tasks:read"]
    for bad in ({"name": "ci key", "scopes": ["tasks:delete"]},
                {"name": "ci key", "scopes": []},
                {"name": "ci", "scopes": ["*"]},
                {"name": "ci key", "scopes": ["*"], "userId": "someone-else"}):
        with pytest.raises(ValueError):
            ApiKeyCreate.model_validate(bad)


def test_generated_key_format_and_hash() -> None:
    key_id, key = generate_key()
    assert key.startswith(f"aide_{key_id}_")
    assert api_key_id(key) == key_id
    assert len(key) > len(f"aide_{key_id}_") + 40
    digest = hash_api_key(key)
    assert len(digest) == 64 and key not in digest
    assert matches_hash(key, digest)
    assert not matches_hash(key + "x", digest)
    other_id, other = generate_key()
    assert other_id != key_id and other != key


@pytest.mark.parametrize(
    "presented",
    ["", "aide_", "aide_0123456789abcdef", "aide_0123456789abcdef_", "aide_XYZ_secret",
     "aide_0123456789abcde_secret", "nope_0123456789abcdef_secret"],
)
def test_malformed_keys_name_no_key(presented: str) -> None:
    assert api_key_id(presented) is None


def test_key_view_never_contains_the_hash() -> None:
    key = ApiKey(id="0123456789abcdef", user_id="u1", name="ci key", scopes=["*"],
                 prefix="aide_0123456789abcdef_ab", hash="h" * 64, created_at=NOW)
    view = ApiKeyView.of(key).to_json_dict()
    assert "hash" not in view and "userId" not in view
    assert view["id"] == key.id
    assert not key.model_copy(update={"revoked_at": NOW}).is_usable(NOW)
    assert not key.model_copy(update={"expires_at": NOW}).is_usable(NOW)
    assert key.model_copy(update={"expires_at": NOW + timedelta(seconds=1)}).is_usable(NOW)


@pytest.mark.parametrize(
    ("authorization", "x_api_key", "expected"),
    [
        (None, None, None),
        ("", "  ", None),
        ("Bearer abc.def.ghi", None, (CredentialKind.ID_TOKEN, "abc.def.ghi")),
        ("bearer   abc", None, (CredentialKind.ID_TOKEN, "abc")),
        (f"Bearer {KEY}", None, (CredentialKind.API_KEY, KEY)),
        (None, KEY, (CredentialKind.API_KEY, KEY)),
        # The Authorization header wins: one request, one identity.
        ("Bearer tok", KEY, (CredentialKind.ID_TOKEN, "tok")),
    ],
)
def test_read_credential(
    authorization: str | None, x_api_key: str | None, expected: tuple[CredentialKind, str] | None
) -> None:
    credential = read_credential(authorization, x_api_key)
    if expected is None:
        assert credential is None
    else:
        assert credential is not None
        assert (credential.kind, credential.value) == expected


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwdw==", "Bearer", "Bearer   ", "token"])
def test_malformed_authorization_is_unauthenticated(authorization: str) -> None:
    with pytest.raises(NotAuthenticated):
        read_credential(authorization, None)


def test_quotas_follow_the_plan_and_reset_on_calendar_boundaries() -> None:
    plan = DEFAULT_PLANS[PlanName.FREE]
    quotas = quotas_for_plan(plan, NOW)
    assert quotas.api_calls.limit == plan.api_calls_per_day
    assert quotas.api_calls.reset == datetime(2027, 1, 1, tzinfo=UTC)
    assert quotas.task_minutes.limit == plan.task_minutes_per_month
    assert quotas.task_minutes.reset == datetime(2027, 1, 1, tzinfo=UTC)
    assert quotas.storage_bytes.limit == plan.storage_bytes
    assert quotas.api_calls.used == quotas.task_minutes.used == quotas.storage_bytes.used == 0


def test_user_update_refuses_platform_owned_fields() -> None:
    for field, value in (("role", "admin"), ("status", "active"), ("quotas", {}), ("uid", "x")):
        with pytest.raises(ValueError):
            UserUpdate.model_validate({field: value})
    assert UserUpdate.model_validate({"displayName": "Ada"}).display_name == "Ada"


@pytest.mark.parametrize(
    ("description", "title"),
    [
        ("Test task from integration test", "Test task from integration test"),
        ("Summarise the report\nwith details on each section", "Summarise the report"),
        ("  \n ab\nmore text here", "ab more text here"),
    ],
)
def test_title_derived_from_description(description: str, title: str) -> None:
    assert title_from_description(description) == title


def test_long_description_title_is_cut_at_a_word() -> None:
    title = title_from_description("word " * 100)
    assert 3 <= len(title) <= 100
    assert title.endswith("...") and not title.endswith(" ...")
    unbroken = title_from_description("x" * 300)
    assert len(unbroken) == 100


def test_seed_agent_request_becomes_a_valid_task_create() -> None:
    request = AgentTaskRequest.model_validate(
        {"task": {"description": "Test task from integration test", "priority": "medium"}}
    )
    create = request.task.to_task_create()
    assert create.title == "Test task from integration test"
    assert create.description == "Test task from integration test"
    assert create.priority == "medium"


@pytest.mark.parametrize(
    ("env", "allowed"),
    [
        ({}, True),
        ({"K_SERVICE": "users"}, True),
        ({"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}, True),
        ({"FIREBASE_AUTH_EMULATOR_HOST": "h:1", "K_SERVICE": "u", "FUNCTIONS_EMULATOR": "true"},
         True),
        # Deployed with the emulator variable: unsigned tokens would pass, so none are accepted.
        ({"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099", "K_SERVICE": "users"}, False),
    ],
)
def test_emulator_tokens_only_off_cloud(env: dict[str, str], allowed: bool) -> None:
    assert emulator_tokens_allowed(env) is allowed
