"""The probe pipeline's entry points: HTTP (create, read) and its two event handlers.

A probe makes the platform work (a write, a trigger, a Pub/Sub message, a result write), so only
admins may start or read one: an operator's diagnostic, never an anonymous endpoint. API keys
need the admin scopes (`admin:write` to start, `admin:read` to read), which no resource scope
and not `*` implies."""

from __future__ import annotations

import base64
import binascii

from flask import Request, Response

from aide.adapters.firestore_client import get_firestore
from aide.domain.access import ADMIN_READ, ADMIN_WRITE
from aide.domain.probes import ProbeCreated, ProbeMessage
from aide.domain.users import UserRole
from aide.entrypoints.auth import Principal, authenticated
from aide.entrypoints.envelope import success
from aide.entrypoints.errors import NotFound
from aide.entrypoints.http_handler import handle
from aide.entrypoints.routing import Router
from aide.services import probes
from aide.structured_logging import get_logger

log = get_logger(__name__)
router = Router("probes")



@router.route("POST", "/")
@authenticated(required_role=UserRole.ADMIN, scope=ADMIN_WRITE)
def create_probe(request: Request, principal: Principal) -> Response:
    probe = probes.create_probe(get_firestore())
    return success(ProbeCreated(probe_id=probe.id), status=201)


@router.route("GET", "/{probe_id}")
@authenticated(required_role=UserRole.ADMIN, scope=ADMIN_READ)
def read_probe(request: Request, principal: Principal, probe_id: str) -> Response:
    view = probes.get_probe(get_firestore(), probe_id)
    if view is None:
        raise NotFound("Probe not found")
    return success(view)


def serve(request: Request) -> Response:
    return handle(request, router)


def on_created(event_id: str, probe_id: str) -> None:
    from aide.adapters.pubsub_publisher import get_publisher

    published = probes.publish_probe(
        get_firestore(), get_publisher(), event_id=event_id, probe_id=probe_id
    )
    log.info(
        "probe %s %s",
        probe_id,
        "published" if published else "already handled",
        extra={"fields": {"eventId": event_id, "probeId": probe_id}},
    )


def on_message(message_id: str, data: str) -> None:
    """`data` is the Pub/Sub message's base64 payload. A payload that can never be processed is
    logged and acknowledged: raising would only make Pub/Sub redeliver it until dead-lettering."""
    try:
        message = ProbeMessage.model_validate_json(base64.b64decode(data, validate=True))
    except (ValueError, binascii.Error) as error:
        log.error(
            "dropping malformed probe message: %s",
            error,
            extra={"fields": {"messageId": message_id}},
        )
        return
    written = probes.record_probe_result(
        get_firestore(), message_id=message_id, probe_id=message.probe_id
    )
    log.info(
        "probe result %s %s",
        message.probe_id,
        "written" if written else "duplicate ignored",
        extra={"fields": {"messageId": message_id, "probeId": message.probe_id}},
    )
