"""Audit entry points: the document-change triggers, and the request's actor for stamps.

`on_document_written(collection, event)` serves the `written` triggers main.py declares on the
audited collections; `bind_request_actor` is an admission step (one of
aide.entrypoints.http_handler.ADMISSION) that makes the caller, request id, IP and user agent
available to the services the handler calls (aide.services.audit_trail.change_stamp).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Request, Response, after_this_request, has_request_context

from aide.domain.audit_logs import ActorType
from aide.domain.audit_trail import ChangeActor
from aide.services import audit_trail

if TYPE_CHECKING:
    from firebase_functions import firestore_fn

    from aide.domain.access import Principal
    from aide.entrypoints.operation import Operation


def client_ip(request: Request) -> str | None:
    # Behind Google's front end the client is the first X-Forwarded-For hop.
    forwarded = request.headers.get("X-Forwarded-For", "")
    first = forwarded.split(",")[0].strip()
    return first or request.remote_addr


def request_actor(request: Request, principal: Principal) -> ChangeActor:
    from aide.structured_logging import current_request_context

    context = current_request_context()
    if principal.api_key_id is not None:
        actor_type, actor_id = ActorType.API_KEY, principal.api_key_id
    else:
        actor_type, actor_id = ActorType.USER, principal.uid
    return ChangeActor(
        actor_type=actor_type,
        actor_id=actor_id,
        request_id=context.request_id if context is not None else None,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent"),
    )


def bind_request_actor(request: Request, principal: Principal, operation: Operation) -> None:
    audit_trail.bind_actor(request_actor(request, principal))
    if has_request_context():

        @after_this_request
        def unbind(response: Response) -> Response:
            # Threads serve many requests: the next one must not inherit this caller.
            audit_trail.bind_actor(None)
            return response


def _data(snapshot: Any) -> dict[str, Any] | None:
    if snapshot is None or not getattr(snapshot, "exists", True):
        return None
    data = snapshot.to_dict()
    return dict(data) if data is not None else None


def on_document_written(
    collection: str,
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    from aide.adapters.firestore_client import get_firestore

    change = event.data
    resource_id = next(iter(event.params.values()))
    audit_trail.record_document_change(
        get_firestore(),
        event.id,
        collection,
        resource_id,
        _data(change.before if change is not None else None),
        _data(change.after if change is not None else None),
        at=event.time,
    )
