"""users/{uid}: the account, preferences, subscription and quota counters (seed UserDocument)."""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field

from aide.domain.base import DocumentModel, RequestModel
from aide.domain.free_form import FreeFormMap
from aide.domain.system_config import Plan, PlanName
from aide.domain.timestamps import UtcDateTime, as_utc, utc_now


class UserRole(StrEnum):
    USER = "user"
    DEVELOPER = "developer"
    ADMIN = "admin"

    def satisfies(self, required: "UserRole") -> bool:
        """Roles are ordered user < developer < admin; a higher role may do what a lower one may."""
        return _ROLE_RANK[self] >= _ROLE_RANK[required]


_ROLE_RANK = {UserRole.USER: 0, UserRole.DEVELOPER: 1, UserRole.ADMIN: 2}


class UserStatus(StrEnum):
    # The seed's withAuth refuses any status other than active ("Account inactive").
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"


class Theme(StrEnum):
    LIGHT = "light"
    DARK = "dark"
    SYSTEM = "system"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class Preferences(DocumentModel):
    theme: Theme = Theme.SYSTEM
    notifications: bool = True
    default_agent_settings: dict[str, Any] = Field(default_factory=dict)


class Subscription(DocumentModel):
    plan: str = "free"
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    current_period_end: UtcDateTime | None = None


class PeriodicQuota(DocumentModel):
    """A counter that starts again at `reset` (task minutes per month, API calls per day)."""

    limit: int = Field(ge=0)
    used: float = Field(default=0, ge=0)
    reset: UtcDateTime | None = None
    # API calls only (aide.domain.quota): the plan's per-minute burst, the counter generation (an
    # admin quota reset starts a new one) and the instant until which calls are refused without
    # touching the counters (set once the period's or the minute's allowance is found exhausted).
    burst_limit: int | None = Field(default=None, ge=0)
    generation: int = Field(default=0, ge=0)
    blocked_until: UtcDateTime | None = None


class StorageQuota(DocumentModel):
    limit: int = Field(ge=0)
    used: int = Field(default=0, ge=0)


class Quotas(DocumentModel):
    task_minutes: PeriodicQuota
    storage_bytes: StorageQuota
    api_calls: PeriodicQuota


def next_day_start(now: datetime) -> datetime:
    now = as_utc(now)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(days=1)


def next_month_start(now: datetime) -> datetime:
    now = as_utc(now)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return now.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def quotas_for_plan(plan: Plan, now: datetime) -> Quotas:
    """Fresh counters with the plan's limits: task minutes reset monthly, API calls daily."""
    return Quotas(
        task_minutes=PeriodicQuota(limit=plan.task_minutes_per_month, reset=next_month_start(now)),
        storage_bytes=StorageQuota(limit=plan.storage_bytes),
        api_calls=PeriodicQuota(
            limit=plan.api_calls_per_day,
            reset=next_day_start(now),
            burst_limit=plan.burst_per_minute,
        ),
    )


class User(DocumentModel):
    uid: str
    email: str | None = None
    display_name: str | None = None
    role: UserRole = UserRole.USER
    status: UserStatus = UserStatus.ACTIVE
    preferences: Preferences = Field(default_factory=Preferences)
    subscription: Subscription = Field(default_factory=Subscription)
    quotas: Quotas
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)


class PreferencesUpdate(RequestModel):
    theme: Theme | None = None
    notifications: bool | None = None
    default_agent_settings: FreeFormMap | None = None


class UserUpdate(RequestModel):
    """PATCH /users/me — the seed's userUpdate schema; role, status and quotas are not here."""

    display_name: str | None = Field(default=None, min_length=2, max_length=50)
    preferences: PreferencesUpdate | None = None


class AdminUserUpdate(RequestModel):
    """PATCH /users/{uid} — what only an admin may change about an account."""

    role: UserRole | None = None
    status: UserStatus | None = None


class UserEnvelope(DocumentModel):
    user: User


# PUT /admin/users/{uid}/role|status|plan.
class RoleChange(RequestModel):
    role: UserRole


class StatusChange(RequestModel):
    status: UserStatus


class PlanChange(RequestModel):
    plan: PlanName
