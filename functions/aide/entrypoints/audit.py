"""Audit entry points: the document-change triggers, and the request's actor for stamps.

`on_document_written(collection, event)` serves the `written` triggers main.py declares on the
audited collections; `bind_request_actor` is an admission step (one of
aide.entrypoints.http_handler.ADMISSION) that makes the caller, request id, IP and user agent
available to the services the handler calls (aide.services.audit_trail.change_stamp).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from flask import Request, Response, after_this_request, has_request_context

from aide.domain.audit_logs import ActorType
from aide.domain.audit_trail import ChangeActor
from aide.services import audit_trail

if TYPE_CHECKING:
    from firebase_functions import firestore_fn

    from aide.domain.access import Principal
    from aide.entrypoints.operation import Operation


def forwarded_client(forwarded_for: str, trusted_hops: int) -> str | None:
    """The client address in an X-Forwarded-For value, or None when it names none.

    Every proxy appends the address it received the request from, so only the right end can be
    trusted: Google's front end appends the address that connected to it, and each of the
    `trusted_hops` proxies behind it (e.g. a load balancer or a CDN in front of the functions)
    appends one more. Whatever the client sent itself is further left and is never taken.
    """
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    if not hops or not hops[-1]:
        return None
    # A header shorter than the trusted chain: the leftmost entry was still written by a proxy.
    candidate = hops[max(len(hops) - 1 - max(trusted_hops, 0), 0)]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def client_ip(request: Request) -> str | None:
    from aide.config import trusted_proxy_hops

    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded is not None:
        found = forwarded_client(forwarded, trusted_proxy_hops())
        if found is not None:
            return found
    return request.remote_addr


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
