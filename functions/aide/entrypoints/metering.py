"""The metering admission step: every authenticated call is counted before its handler runs.

One of aide.entrypoints.http_handler.ADMISSION. A refused call raises QuotaExceeded (429, the
seed's body `{"error": "Quota exceeded", "limit", "reset"}` as the error's details, with
Retry-After and RateLimit headers); an admitted one gets its RateLimit headers added to whatever
response the handler returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Request, Response, after_this_request, has_request_context

from aide.domain.quota import DEFAULT_UNITS, UnitsPolicy
from aide.entrypoints.errors import QuotaExceeded

if TYPE_CHECKING:
    from aide.domain.access import Principal
    from aide.entrypoints.operation import Operation

units_policy: UnitsPolicy = DEFAULT_UNITS


def meter(request: Request, principal: Principal, operation: Operation) -> None:
    from aide.adapters.firestore_client import get_firestore
    from aide.services.metering import admit_call

    admission = admit_call(get_firestore(), principal.user, units_policy.units(operation.name))
    headers = admission.headers()
    if admission.refusal is not None:
        raise QuotaExceeded(details=admission.refusal.body(), headers=headers)
    if headers and has_request_context():

        @after_this_request
        def add_headers(response: Response) -> Response:
            for name, value in headers.items():
                response.headers.setdefault(name, value)
            return response
