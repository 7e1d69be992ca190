"""The dashboard: what GET /dashboard answers and the events GET /dashboard/events streams
(the guide's `stats-update`, `agent-update`, `task-update`). Pure: no I/O."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import Field

from aide.domain.agents import Agent
from aide.domain.base import DocumentModel
from aide.domain.projects import Project
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.tasks import Task
from aide.domain.timestamps import UtcDateTime
from aide.domain.usage import UsageReport

RECENT_TASKS: Final = 10
RECENT_PROJECTS: Final = 5
QUOTA_WARNING_RATIO: Final = 0.8


class DashboardEventName(StrEnum):
    STATS = "stats-update"
    AGENT = "agent-update"
    TASK = "task-update"


class AlertLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class DashboardAlert(DocumentModel):
    level: AlertLevel
    code: str
    message: str


class DashboardStats(DocumentModel):
    """Counts of the caller's own tasks (count aggregations: no document read per task)."""

    by_status: dict[str, int] = Field(description="Tasks per status (every status present)")
    total: int
    active: int = Field(description="Queued or in progress")
    completed_today: int
    failed_today: int
    success_rate_today: float | None = Field(
        default=None,
        description="completed / (completed + failed) today (UTC); absent before any finished",
    )
    tokens_today: int
    computed_at: UtcDateTime


class DashboardView(DocumentModel):
    """GET /dashboard `data`."""

    stats: DashboardStats
    active_agents: list[Agent]
    recent_tasks: list[Task]
    recent_projects: list[Project]
    usage: UsageReport
    alerts: list[DashboardAlert]


def success_rate(completed: int, failed: int) -> float | None:
    finished = completed + failed
    return None if finished == 0 else round(completed / finished, 4)


def build_stats(
    by_status: dict[TaskStatus, int],
    *,
    completed_today: int,
    failed_today: int,
    tokens_today: int,
    now: datetime,
) -> DashboardStats:
    counts = {str(status): int(by_status.get(status, 0)) for status in TaskStatus}
    return DashboardStats(
        by_status=counts,
        total=sum(counts.values()),
        active=counts[TaskStatus.QUEUED] + counts[TaskStatus.IN_PROGRESS],
        completed_today=completed_today,
        failed_today=failed_today,
        success_rate_today=success_rate(completed_today, failed_today),
        tokens_today=tokens_today,
        computed_at=now,
    )


def alerts_for(
    stats: DashboardStats, usage: UsageReport, agents: list[Agent]
) -> list[DashboardAlert]:
    """What deserves the user's attention: quotas nearly or fully spent, failures today, agents
    taken offline."""
    alerts: list[DashboardAlert] = []
    api = usage.usage.api_calls
    if api.limit and api.used >= api.limit:
        alerts.append(
            DashboardAlert(
                level=AlertLevel.CRITICAL,
                code="api_quota_exhausted",
                message=f"API quota spent: {api.used}/{api.limit} calls today",
            )
        )
    elif api.limit and api.used >= QUOTA_WARNING_RATIO * api.limit:
        alerts.append(
            DashboardAlert(
                level=AlertLevel.WARNING,
                code="api_quota_low",
                message=f"{api.used}/{api.limit} API calls used today",
            )
        )
    minutes = usage.usage.task_minutes
    if minutes.limit and minutes.used >= QUOTA_WARNING_RATIO * minutes.limit:
        alerts.append(
            DashboardAlert(
                level=AlertLevel.WARNING,
                code="task_minutes_low",
                message=f"{minutes.used:.1f}/{minutes.limit} task minutes used",
            )
        )
    if stats.failed_today:
        alerts.append(
            DashboardAlert(
                level=AlertLevel.WARNING,
                code="tasks_failed_today",
                message=f"{stats.failed_today} task(s) failed today",
            )
        )
    offline = sorted(agent.id for agent in agents if str(agent.status) == "offline")
    if offline:
        alerts.append(
            DashboardAlert(
                level=AlertLevel.INFO,
                code="agents_offline",
                message="Offline agents: " + ", ".join(offline),
            )
        )
    return alerts
