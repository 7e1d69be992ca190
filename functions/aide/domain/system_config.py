"""system_config/plans: the plans a subscription can name and their limits."""

from enum import StrEnum
from typing import Final

from pydantic import Field

from aide.domain.base import DocumentModel
from aide.domain.timestamps import UtcDateTime, utc_now

PLANS_DOCUMENT_ID: Final = "plans"

MIB: Final = 1024 * 1024
GIB: Final = 1024 * MIB


class PlanName(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Plan(DocumentModel):
    name: PlanName
    display_name: str
    api_calls_per_day: int = Field(ge=0)
    burst_per_minute: int = Field(ge=0)
    task_minutes_per_month: int = Field(ge=0)
    storage_bytes: int = Field(ge=0)
    concurrent_tasks: int = Field(ge=0)
    manual_retries_per_task: int = Field(default=3, ge=0)
    """How often a user may retry one failed task (POST /tasks/{id}/retry, group retries)."""


class PlansConfig(DocumentModel):
    id: str = PLANS_DOCUMENT_ID
    default_plan: PlanName = PlanName.FREE
    plans: dict[PlanName, Plan]
    updated_at: UtcDateTime = Field(default_factory=utc_now)

    def plan(self, name: str) -> Plan:
        """The named plan, or the default one when the name is unknown (e.g. a retired plan)."""
        try:
            return self.plans[PlanName(name)]
        except (ValueError, KeyError):
            return self.plans[self.default_plan]


# Documented defaults (README "Plans"); seeding writes them only where system_config has none.
DEFAULT_PLANS: Final[dict[PlanName, Plan]] = {
    PlanName.FREE: Plan(
        name=PlanName.FREE,
        display_name="Free",
        api_calls_per_day=1_000,
        burst_per_minute=60,
        task_minutes_per_month=100,
        storage_bytes=100 * MIB,
        concurrent_tasks=2,
        manual_retries_per_task=3,
    ),
    PlanName.PRO: Plan(
        name=PlanName.PRO,
        display_name="Pro",
        api_calls_per_day=50_000,
        burst_per_minute=600,
        task_minutes_per_month=3_000,
        storage_bytes=10 * GIB,
        concurrent_tasks=10,
        manual_retries_per_task=10,
    ),
    PlanName.ENTERPRISE: Plan(
        name=PlanName.ENTERPRISE,
        display_name="Enterprise",
        api_calls_per_day=1_000_000,
        burst_per_minute=6_000,
        task_minutes_per_month=50_000,
        storage_bytes=1024 * GIB,
        concurrent_tasks=100,
        manual_retries_per_task=25,
    ),
}


def default_plans_config() -> PlansConfig:
    return PlansConfig(plans=dict(DEFAULT_PLANS))
