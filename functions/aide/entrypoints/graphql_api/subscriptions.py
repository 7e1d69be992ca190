"""Subscriptions over server-sent events: the graphql-sse protocol, distinct connections mode.

`POST` with `Accept: text/event-stream` → 200 `text/event-stream`: each result is
`event: next` / `data: {"data": ..., "extensions": {"cursor": ...}}` (with the cursor also as
the SSE `id:`), `: keep-alive` comments, and `event: complete` when the subscription is over
(the task or group finished). Authorization is checked when subscribing: a refusal is one
`next` carrying `errors` (NOT_FOUND, FORBIDDEN), then `complete`.

Backed by Firestore listeners shared per target (aide.adapters.snapshot_listeners): a task
document, a group document, the agents collection, a task's events.

Reconnect contract: a stream stays open at most its window (aide.entrypoints.event_stream: 50 s,
below Hosting's 60 s cut; `?window=` may shorten it) and then closes WITHOUT `complete`; the
graphql-sse client sees a network end and resubscribes. Sending the last `extensions.cursor`
as the `Last-Event-ID` header (graphql-sse: `headers: () => ({"Last-Event-ID": cursor})`)
resumes after it: taskUpdated/taskGroupUpdated send the current state if it changed since,
taskEvents the events after it (none lost, none repeated), agentStatusChanged the agents changed
since. Without it, the subscription starts with the current state (taskUpdated,
taskGroupUpdated) or every event so far (taskEvents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Request, Response
from graphql import FieldNode, GraphQLError, execute, value_from_ast_untyped

from aide.domain.access import authorize
from aide.domain.agents import Agent
from aide.domain.task_events import TaskEvent
from aide.domain.task_graph import GroupStatus
from aide.domain.task_groups import TaskGroup
from aide.domain.task_lifecycle import is_terminal
from aide.domain.tasks import Task
from aide.domain.timestamps import as_utc, rfc3339
from aide.domain.users import UserRole
from aide.entrypoints.event_stream import (
    LAST_EVENT_ID,
    LISTENING,
    Deadline,
    comment,
    event_stream,
    frame,
    keepalive_seconds,
    requested_window,
)
from aide.entrypoints.graphql_api.errors import as_api_error, to_graphql_error
from aide.entrypoints.graphql_api.request import CheckedRequest
from aide.entrypoints.graphql_api.resolvers import _id

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.snapshot_listeners import DocumentChange
    from aide.domain.access import Principal
    from aide.entrypoints.graphql_api.context import GatewayContext

GROUP_DONE = frozenset({GroupStatus.COMPLETED, GroupStatus.FAILED, GroupStatus.CANCELLED})


@dataclass(frozen=True)
class Item:
    """One value to send: the root field's value, its cursor, and whether it is the last."""

    value: Any
    cursor: str
    last: bool = False


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    """A cursor "<RFC 3339 instant>" or "<instant>|<id>"; None if absent or unreadable."""
    if not cursor:
        return None
    instant, _, doc_id = cursor.partition("|")
    try:
        return as_utc(datetime.fromisoformat(instant.replace("Z", "+00:00"))), doc_id
    except ValueError:
        return None


class Source:
    """What a subscription follows: the listener target and how changes become items."""

    def __init__(
        self,
        key: tuple[str, ...],
        target: Any,
        items: Callable[[list[DocumentChange]], Iterator[Item]],
    ) -> None:
        self.key, self.target, self.items = key, target, items


def _document_source(
    key: tuple[str, ...],
    target: Any,
    parse: Callable[[dict[str, Any]], Any],
    done: Callable[[Any], bool],
    after: tuple[datetime, str] | None,
) -> Source:
    last_sent: list[datetime] = [after[0]] if after else []

    def items(changes: list[DocumentChange]) -> Iterator[Item]:
        for change in changes:
            if change.data is None:
                continue
            value = parse(change.data)
            if last_sent and value.updated_at <= last_sent[0]:
                if done(value):
                    yield Item(None, rfc3339(value.updated_at), last=True)
                continue
            last_sent[:] = [value.updated_at]
            yield Item(value, rfc3339(value.updated_at), last=done(value))

    return Source(key, target, items)


def _events_source(db: Client, task_id: str, after: tuple[datetime, str] | None) -> Source:
    from aide.adapters.repositories import TaskRepository

    position: list[tuple[datetime, str]] = [after] if after else []

    def items(changes: list[DocumentChange]) -> Iterator[Item]:
        events = sorted(
            (TaskEvent.from_document(c.data) for c in changes if c.data is not None),
            key=lambda e: (e.timestamp, e.id),
        )
        for event in events:
            mark = (event.timestamp, event.id)
            if position and mark <= position[0]:
                continue
            position[:] = [mark]
            ends = event.to_status is not None and is_terminal(event.to_status)
            yield Item(event, f"{rfc3339(event.timestamp)}|{event.id}", last=ends)

    return Source(("task-events", task_id), TaskRepository(db).events(task_id), items)


def _agents_source(db: Client, after: tuple[datetime, str] | None) -> Source:
    from aide.adapters.repositories import AgentRepository

    statuses: dict[str, str] = {}

    def items(changes: list[DocumentChange]) -> Iterator[Item]:
        for change in changes:
            if change.data is None:
                continue
            agent = Agent.from_document(change.data)
            before = statuses.get(agent.id)
            statuses[agent.id] = str(agent.status)
            if before is None:
                # Known from the listener's first snapshot: sent only when resuming after it.
                if after is None or agent.updated_at <= after[0]:
                    continue
            elif before == str(agent.status):
                continue
            yield Item(agent, rfc3339(agent.updated_at))

    return Source(("agents",), AgentRepository(db).collection, items)


def open_source(
    ctx: GatewayContext, field: str, args: dict[str, Any], cursor: str | None
) -> Source:
    """Authorize the subscription (as the matching query would) and say what it follows."""
    from aide.adapters.repositories import TaskRepository
    from aide.adapters.repositories.task_groups import TaskGroupRepository
    from aide.services import task_groups, tasks

    db, after = ctx.db, _after(cursor)
    if field == "taskUpdated":
        task = tasks.get_task(db, ctx.uid, _id(args["id"]))
        return _document_source(
            ("task", task.id),
            TaskRepository(db).ref(task.id),
            Task.from_document,
            lambda t: is_terminal(t.status),
            after,
        )
    if field == "taskGroupUpdated":
        group = task_groups.get_task_group(db, ctx.uid, _id(args["id"]))
        return _document_source(
            ("task-group", group.id),
            TaskGroupRepository(db).ref(group.id),
            TaskGroup.from_document,
            lambda g: g.status in GROUP_DONE,
            after,
        )
    if field == "taskEvents":
        task = tasks.get_task(db, ctx.uid, _id(args["taskId"]))
        return _events_source(db, task.id, after)
    if field == "agentStatusChanged":
        return _agents_source(db, after)
    raise GraphQLError(f"Unknown subscription {field}")


def _result(checked: CheckedRequest, ctx: GatewayContext, field: str, item: Item) -> dict[str, Any]:
    from aide.entrypoints.graphql_api.schema import (
        default_field_resolver,
        executable_schema,
    )

    result = execute(
        executable_schema(),
        checked.document,
        root_value={field: item.value},
        variable_values=checked.variables,
        operation_name=checked.operation_name,
        context_value=ctx,
        field_resolver=default_field_resolver,
    )
    body: dict[str, Any] = {"data": result.data}  # type: ignore[union-attr]
    if result.errors:  # type: ignore[union-attr]
        body["errors"] = [error.formatted for error in result.errors]  # type: ignore[union-attr]
    body["extensions"] = {"cursor": item.cursor}
    return body


def _arguments(node: FieldNode, variables: dict[str, Any]) -> dict[str, Any]:
    """The root field's arguments (ids: validation already checked their presence and type)."""
    values = {
        arg.name.value: value_from_ast_untyped(arg.value, variables) for arg in node.arguments or ()
    }
    for name, value in values.items():
        if not isinstance(value, str):
            raise GraphQLError(
                f"Argument {name} must be an ID", extensions={"code": "BAD_USER_INPUT"}
            )
    return values


def _refused(error: GraphQLError) -> Iterator[bytes]:
    yield frame("next", {"errors": [error.formatted]})
    yield frame("complete", None)


def stream_subscription(
    request: Request, checked: CheckedRequest, principal: Principal
) -> Response:
    from aide.adapters.firestore_client import get_firestore
    from aide.entrypoints.graphql_api.context import new_context
    from aide.entrypoints.graphql_api.schema import FIELD_SCOPES

    window = requested_window(request)
    ctx = new_context(get_firestore(), principal)
    (node,) = [n for n in checked.operation.selection_set.selections if isinstance(n, FieldNode)]
    field = node.name.value
    try:
        authorize(
            principal, required_role=UserRole.USER, scope=FIELD_SCOPES[("Subscription", field)]
        )
        args = _arguments(node, checked.variables)
        source = open_source(ctx, field, args, request.headers.get(LAST_EVENT_ID))
    except GraphQLError as error:
        return event_stream(_refused(error))
    except Exception as error:  # a service's refusal, rendered as its GraphQL error
        return event_stream(_refused(to_graphql_error(as_api_error(error))))
    return event_stream(_frames(checked, ctx, field, source, window))


def _frames(
    checked: CheckedRequest, ctx: GatewayContext, field: str, source: Source, window: float
) -> Iterator[bytes]:
    from aide.adapters.snapshot_listeners import listener_hub

    subscription = listener_hub().subscribe(source.key, source.target)
    deadline = Deadline(window)
    keepalive = keepalive_seconds()
    listening = False
    try:
        while not deadline.passed():
            received = subscription.inbox.get(timeout=min(keepalive, deadline.remaining()))
            if received is None:
                if not deadline.passed():
                    yield comment()
                continue
            _tag, changes = received
            if not listening:
                # The listener's first snapshot is in: from here on no change is missed.
                listening = True
                yield comment(LISTENING)
            for item in source.items(changes):
                if item.value is not None:
                    yield frame("next", _result(checked, ctx, field, item), item.cursor)
                if item.last:
                    yield frame("complete", None)
                    return
        # The window is over: end without `complete`, so that the client resubscribes.
    finally:
        subscription.close()
