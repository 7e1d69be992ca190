"""The dashboard in one parallel round of reads (the guide's getUserDashboard): stats by count
aggregations, active agents, recent tasks, recent projects, usage vs quota, alerts."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from aide.adapters.repositories.task_stats import TaskStatsRepository
from aide.domain.agents import AgentStatus
from aide.domain.dashboard import (
    RECENT_PROJECTS,
    RECENT_TASKS,
    DashboardStats,
    DashboardView,
    alerts_for,
    build_stats,
)
from aide.domain.projects import ProjectListQuery
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.tasks import TaskListQuery
from aide.domain.timestamps import utc_now
from aide.domain.users import User
from aide.services import agents, projects, tasks
from aide.services.usage_report import usage_report

if TYPE_CHECKING:
    from google.cloud.firestore import Client

# Reads run in parallel: each waits on the network, so threads overlap them (the GIL is free).
PARALLEL_READS: Final = 8


def start_of_day(now: datetime) -> datetime:
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


def _in_parallel(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(calls))) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def _stat_calls(db: Client, uid: str, now: datetime) -> dict[str, Callable[[], Any]]:
    stats = TaskStatsRepository(db)
    today = start_of_day(now)
    calls: dict[str, Callable[[], Any]] = {
        f"count:{status.value}": partial(stats.count, uid, status) for status in TaskStatus
    }
    calls["completed_today"] = lambda: stats.count_finished_since(uid, TaskStatus.COMPLETED, today)
    calls["failed_today"] = lambda: stats.count_finished_since(uid, TaskStatus.FAILED, today)
    return calls


def _stats_from(results: dict[str, Any], tokens_today: int, now: datetime) -> DashboardStats:
    return build_stats(
        {status: results[f"count:{status.value}"] for status in TaskStatus},
        completed_today=results["completed_today"],
        failed_today=results["failed_today"],
        tokens_today=tokens_today,
        now=now,
    )


def _tokens_today(report: Any, now: datetime) -> int:
    today = now.date().isoformat()
    return sum(day.tokens_used for day in report.history if day.date == today)


def dashboard_stats(db: Client, user: User, *, now: datetime | None = None) -> DashboardStats:
    """The stats alone (what each `stats-update` event carries)."""
    moment = now or utc_now()
    calls = _stat_calls(db, user.uid, moment)
    calls["usage"] = lambda: usage_report(db, user, now=lambda: moment)
    results = _in_parallel(calls)
    return _stats_from(results, _tokens_today(results["usage"], moment), moment)


def get_dashboard(db: Client, user: User, *, now: datetime | None = None) -> DashboardView:
    moment = now or utc_now()
    uid = user.uid
    calls = _stat_calls(db, uid, moment)
    calls["agents"] = lambda: agents.list_agents(db)
    calls["recent_tasks"] = lambda: (
        tasks.list_tasks(db, uid, TaskListQuery(limit=RECENT_TASKS)).tasks
    )
    calls["recent_projects"] = lambda: (
        projects.list_projects(db, uid, ProjectListQuery(limit=RECENT_PROJECTS)).projects
    )
    calls["usage"] = lambda: usage_report(db, user, now=lambda: moment)
    results = _in_parallel(calls)
    stats = _stats_from(results, _tokens_today(results["usage"], moment), moment)
    every_agent = results["agents"]
    return DashboardView(
        stats=stats,
        active_agents=[a for a in every_agent if a.status is AgentStatus.BUSY],
        recent_tasks=results["recent_tasks"],
        recent_projects=results["recent_projects"],
        usage=results["usage"],
        alerts=alerts_for(stats, results["usage"], every_agent),
    )
