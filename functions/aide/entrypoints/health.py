"""GET /health — 200 with the report when every dependency answers, 503 (same shape) otherwise.
GET /health/openapi.json — the API reference (shared/openapi.json, built from the same registry).

Both are anonymous, so both are cheap whatever the caller does: the health checks (a billed
Firestore read, a Pub/Sub and a Storage call) run at most once per `report_ttl_seconds` per
instance, concurrent callers waiting for the one run in flight; the others get that report."""

from __future__ import annotations

import functools
import json
import threading
import time

from flask import Request, Response

from aide.domain.health import HealthReport
from aide.entrypoints.envelope import success
from aide.entrypoints.http_handler import handle
from aide.entrypoints.routing import Router
from aide.services.health import DEFAULT_TIMEOUT_SECONDS, Check, check_health

router = Router("health")


def default_checks() -> dict[str, Check]:
    from aide import config
    from aide.adapters.firestore_client import get_firestore
    from aide.adapters.pubsub_publisher import get_publisher
    from aide.adapters.storage_client import get_storage
    from aide.services.health import firestore_check, pubsub_check, storage_check

    publisher = get_publisher()
    return {
        "firestore": firestore_check(get_firestore()),
        "pubsub": pubsub_check(publisher.client, publisher.project),
        "storage": storage_check(get_storage(), config.storage_bucket()),
    }


# Replaceable so unit tests can render the endpoint with checks of their own.
checks_factory = default_checks
timeout_seconds = DEFAULT_TIMEOUT_SECONDS
report_ttl_seconds = 10.0

_report_lock = threading.Lock()
_last_report: tuple[float, HealthReport] | None = None


def current_report() -> HealthReport:
    """The last report if younger than `report_ttl_seconds`, else a fresh one."""
    global _last_report
    with _report_lock:
        if _last_report is not None:
            made_at, report = _last_report
            if time.monotonic() - made_at < report_ttl_seconds:
                return report
        checks = checks_factory()
        report = check_health(
            firestore=checks["firestore"],
            pubsub=checks["pubsub"],
            storage=checks["storage"],
            timeout=timeout_seconds,
        )
        _last_report = (time.monotonic(), report)
        return report


@router.route("GET", "/")
def get_health(request: Request) -> Response:
    report = current_report()
    return success(report, status=200 if report.ok else 503, headers={"Cache-Control": "no-store"})


@functools.cache
def _openapi_text() -> str:
    # Imported and built on the first request only: the registry imports every model.
    from aide.contracts.openapi import build_openapi

    return json.dumps(build_openapi(), indent=2, ensure_ascii=False) + "\n"


@router.route("GET", "/openapi.json")
def get_openapi(request: Request) -> Response:
    return Response(
        _openapi_text(),
        status=200,
        mimetype="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


def serve(request: Request) -> Response:
    return handle(request, router)
