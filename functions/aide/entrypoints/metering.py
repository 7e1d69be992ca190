"""The metering admission step: every authenticated call is counted before its handler runs.

One of aide.entrypoints.http_handler.ADMISSION. A refused call raises QuotaExceeded (429, the
seed's body `{"error": "Quota exceeded", "limit", "reset"}` as the error's details, with
Retry-After and RateLimit headers); an admitted one gets its RateLimit headers added to whatever
response the handler returns. An admitted call that turns out to be refused by validation (400,
413) or answered by an idempotent replay (`Idempotent-Replayed: true`) costs one unit: the rest
is given back once its response is known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Request, Response, after_this_request, has_request_context

from aide.domain.quota import DEFAULT_UNITS, UnitsPolicy
from aide.entrypoints.errors import QuotaExceeded
from aide.entrypoints.http_request import REPLAYED_HEADER
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from aide.domain.access import Principal
    from aide.entrypoints.operation import Operation

log = get_logger(__name__)
units_policy: UnitsPolicy = DEFAULT_UNITS
# Responses that did no work the caller is charged for beyond the one unit every call costs.
REFUNDED_STATUSES = frozenset({400, 413})


def meter(request: Request, principal: Principal, operation: Operation) -> None:
    from aide.adapters.firestore_client import get_firestore
    from aide.services.metering import admit_call

    db = get_firestore()
    admission = admit_call(db, principal.user, units_policy.units(operation.name))
    headers = admission.headers()
    if admission.refusal is not None:
        raise QuotaExceeded(details=admission.refusal.body(), headers=headers)
    if has_request_context():

        @after_this_request
        def settle(response: Response) -> Response:
            for name, value in headers.items():
                response.headers.setdefault(name, value)
            replayed = response.headers.get(REPLAYED_HEADER) == "true"
            if response.status_code in REFUNDED_STATUSES or replayed:
                from aide.services.metering import refund

                try:
                    refund(db, admission)
                except Exception:
                    # The answer stands; the caller is at worst charged the call's full price.
                    log.warning("could not refund a metered call", exc_info=True)
            return response
