"""The `authenticated` decorator in-process, with API keys against the Firestore emulator:
what a handler receives, how refusals render, and the admission steps the HTTP handler runs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from flask import Flask, Request, Response

from aide.adapters.firestore_client import reset_firestore_client
from aide.adapters.identity import VerifiedIdentity
from aide.domain.api_keys import ApiKeyCreate
from aide.domain.users import UserRole
from aide.entrypoints import auth
from aide.entrypoints.envelope import success
from aide.entrypoints.errors import QuotaExceeded
from aide.entrypoints.http_handler import ADMISSION, handle
from aide.entrypoints.operation import AdmissionStep
from aide.entrypoints.routing import Router
from aide.services import api_keys
from aide.services.authentication import provision_user

router = Router("things")
seen: list[auth.Principal] = []


@router.route("GET", "/{thing_id}")
@auth.authenticated(scope="tasks:read")
def read_thing(request: Request, principal: auth.Principal, thing_id: str) -> Response:
    seen.append(principal)
    return success({"thing": thing_id, "uid": principal.uid})


@router.route("POST", "/")
@auth.authenticated(required_role=UserRole.ADMIN, scope="tasks:write")
def admin_thing(request: Request, principal: auth.Principal) -> Response:
    return success({"ok": True})


@pytest.fixture
def app_db(fs_client: Any, fs_project: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The process-wide Firestore client pointed at this test's project."""
    monkeypatch.setenv("GCLOUD_PROJECT", fs_project)
    reset_firestore_client()
    seen.clear()
    try:
        yield fs_client
    finally:
        reset_firestore_client()


def serve(
    method: str,
    path: str,
    headers: dict[str, str],
    admission: Sequence[AdmissionStep] = ADMISSION,
) -> Response:
    app = Flask(__name__)
    with app.test_request_context(path, method=method, headers=headers):
        from flask import request

        return handle(request, router, admission=admission)


def issue(db: Any, scopes: list[str]) -> str:
    """A key of "dev", a developer (keys act only while their owner may hold them)."""
    provision_user(db, VerifiedIdentity(uid="dev"))
    db.collection("users").document("dev").update({"role": "developer"})
    return api_keys.create_api_key(db, "dev", ApiKeyCreate(name="key", scopes=scopes)).key


def test_handler_receives_the_principal(app_db: Any) -> None:
    key = issue(app_db, ["tasks:read"])
    response = serve("GET", "/api/things/abc", {"X-API-Key": key})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["data"] == {"thing": "abc", "uid": "dev"}
    (principal,) = seen
    assert principal.via_api_key and principal.scopes == frozenset({"tasks:read"})
    assert principal.role == UserRole.DEVELOPER and principal.user.uid == "dev"


def test_refusals_render_in_the_envelope(app_db: Any) -> None:
    key = issue(app_db, ["tasks:read"])
    missing = serve("GET", "/api/things/abc", {})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.get_json()["error"]["code"] == "unauthenticated"
    low = serve("POST", "/api/things/", {"Authorization": f"Bearer {key}"})
    assert low.status_code == 403
    assert low.get_json()["error"]["message"] == "Insufficient permissions"
    app_db.collection("users").document("dev").update({"role": "admin"})
    unscoped = serve("POST", "/api/things/", {"Authorization": f"Bearer {key}"})
    assert unscoped.status_code == 403
    assert "tasks:write" in unscoped.get_json()["error"]["message"]
    assert seen == []


def test_admission_hooks_run_after_authorization(app_db: Any) -> None:
    key = issue(app_db, ["*"])
    admitted: list[tuple[str, auth.Operation]] = []

    def meter(request: Request, principal: auth.Principal, operation: auth.Operation) -> None:
        admitted.append((principal.uid, operation))
        if len(admitted) > 1:
            raise QuotaExceeded(headers={"Retry-After": "60"})

    admission = (*ADMISSION, meter)
    assert serve("GET", "/api/things/a", {"X-API-Key": key}, admission).status_code == 200
    refused = serve("GET", "/api/things/b", {"X-API-Key": key}, admission)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.get_json()["error"]["code"] == "quota_exceeded"
    # Unauthenticated requests never reach the hook.
    assert serve("GET", "/api/things/c", {}, admission).status_code == 401
    assert [uid for uid, _ in admitted] == ["dev", "dev"]
    operation = admitted[0][1]
    assert operation.name.endswith(".read_thing")
    assert operation.scope == "tasks:read" and operation.required_role == UserRole.USER
    assert len(seen) == 1
