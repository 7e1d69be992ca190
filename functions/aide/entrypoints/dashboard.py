"""dashboard: GET / (everything the dashboard shows, in one parallel round of reads) and
GET /events (server-sent events: `task-update`, `agent-update`, `stats-update`, live from
Firestore listeners, resumable with `Last-Event-ID`).

The event stream: each event's `id` is the stream's position (the `updatedAt` of the latest
task change sent, RFC 3339). A client reconnecting with `Last-Event-ID` (EventSource does it by
itself; or `?lastEventId=`) first receives every task changed at or after that instant — so
nothing is lost across reconnects; an event at exactly that instant may come twice —, then live
changes. Without it the stream starts now (GET / gave the state). The stream ends after the
window (aide.entrypoints.event_stream) and the client reconnects.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Final

from flask import Request, Response

from aide.adapters.firestore_client import get_firestore
from aide.domain.agents import Agent
from aide.domain.dashboard import DashboardEventName
from aide.domain.tasks import Task
from aide.domain.timestamps import as_utc, rfc3339, utc_now
from aide.entrypoints.auth import Principal, authenticated
from aide.entrypoints.envelope import jsonable, success
from aide.entrypoints.errors import ValidationFailed
from aide.entrypoints.event_stream import (
    LAST_EVENT_ID,
    LISTENING,
    Deadline,
    comment,
    event_stream,
    frame,
    keepalive_seconds,
    requested_window,
    retry_hint,
)
from aide.entrypoints.http_handler import handle
from aide.entrypoints.http_request import query_params
from aide.entrypoints.routing import Router
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.snapshot_listeners import DocumentChange
    from aide.domain.users import User

log = get_logger(__name__)
router = Router("dashboard")

STATS_INTERVAL_S: Final = 2.0
"""At most one stats-update per this many seconds (each costs a round of count aggregations)."""
RECONNECT_MS: Final = 1000


@router.route("GET", "/")
@authenticated(scope="tasks:read")
def get_dashboard(request: Request, principal: Principal) -> Response:
    from aide.services.dashboard import get_dashboard as build

    return success(build(get_firestore(), principal.user))


def resume_point(request: Request) -> datetime | None:
    raw = request.headers.get(LAST_EVENT_ID) or query_params(request).get("lastEventId")
    if not raw:
        return None
    try:
        return as_utc(datetime.fromisoformat(str(raw).replace("Z", "+00:00")))
    except ValueError as error:
        message = "Last-Event-ID must be an event id this stream sent (an RFC 3339 instant)"
        raise ValidationFailed(
            message, details=[{"field": LAST_EVENT_ID, "message": message, "type": "header"}]
        ) from error


@router.route("GET", "/events")
@authenticated(scope="tasks:read")
def stream_events(request: Request, principal: Principal) -> Response:
    since = resume_point(request)
    window = requested_window(request)
    return event_stream(dashboard_frames(get_firestore(), principal.user, since, window))


def _changed_since(updated_at: datetime, since: datetime) -> bool:
    return updated_at >= since


def dashboard_frames(
    db: Client, user: User, since: datetime | None, window: float
) -> Iterator[bytes]:
    """The stream's frames; the listeners are released however it ends (window over, client
    gone, error)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    from aide.adapters.repositories import AgentRepository, TaskRepository
    from aide.adapters.snapshot_listeners import Inbox, listener_hub
    from aide.services.dashboard import dashboard_stats

    start = since or utc_now()
    position = start
    hub = listener_hub()
    inbox = Inbox()
    tasks_query = (
        TaskRepository(db)
        .collection.where(filter=FieldFilter("userId", "==", user.uid))
        .where(filter=FieldFilter("updatedAt", ">=", start))
    )
    subscriptions = [
        hub.subscribe(("dashboard-tasks", user.uid, start), tasks_query, inbox, "task"),
        hub.subscribe(("agents",), AgentRepository(db).collection, inbox, "agent"),
    ]
    deadline = Deadline(window)
    keepalive = keepalive_seconds()
    listening: set[str] = set()
    stats_due = False
    last_stats = 0.0
    try:
        yield retry_hint(RECONNECT_MS)
        while not deadline.passed():
            item = inbox.get(timeout=min(keepalive, deadline.remaining()))
            if item is None:
                if not deadline.passed():
                    yield comment()
            else:
                tag, changes = item
                if tag not in listening:
                    listening.add(tag)
                    if len(listening) == len(subscriptions):
                        yield comment(LISTENING)
                for frame_bytes, moved in _frames_for(tag, changes, start, position):
                    position = max(position, moved)
                    stats_due = stats_due or tag == "task"
                    yield frame_bytes
            if stats_due and time.monotonic() - last_stats >= STATS_INTERVAL_S:
                stats = dashboard_stats(db, user)
                last_stats, stats_due = time.monotonic(), False
                yield frame(DashboardEventName.STATS, jsonable(stats), rfc3339(position))
    finally:
        for subscription in subscriptions:
            subscription.close()


def _frames_for(
    tag: str, changes: list[DocumentChange], start: datetime, position: datetime
) -> Iterator[tuple[bytes, datetime]]:
    for change in changes:
        if change.data is None:
            continue
        if tag == "task":
            task = Task.from_document(change.data)
            if not _changed_since(task.updated_at, start):
                continue
            yield (
                frame(DashboardEventName.TASK, jsonable(task), rfc3339(task.updated_at)),
                task.updated_at,
            )
        else:
            agent = Agent.from_document(change.data)
            if change.kind == "ADDED" and not _changed_since(agent.updated_at, start):
                continue  # as it was when the stream started: GET / already gave it
            yield frame(DashboardEventName.AGENT, jsonable(agent), rfc3339(position)), position


def serve(request: Request) -> Response:
    return handle(request, router)
