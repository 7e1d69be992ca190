"""The whole platform wired together on the local stack: health through the functions host,
and the probe pipeline HTTP → Firestore trigger → Pub/Sub → result document, also with every
trigger and push delivered twice."""

from __future__ import annotations

from typing import Any

import pytest

from tests.firestore_emulator.waiting import wait_until
from tests.fixtures.stack import PlatformHandle

PIPELINE_TIMEOUT_S = 60.0


def admin_headers(platform: PlatformHandle) -> dict[str, str]:
    """Probes are an admin's diagnostic."""
    admin = platform.create_user()
    provisioned = platform.http.get(platform.url("users", "/me"), headers=admin.headers, timeout=60)
    assert provisioned.status_code == 200, provisioned.text
    platform.db.collection("users").document(admin.uid).update({"role": "admin"})
    return admin.headers


def create_probe(platform: PlatformHandle, headers: dict[str, str]) -> str:
    response = platform.http.post(platform.url("probes"), json={}, headers=headers, timeout=60)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True
    return str(body["data"]["probeId"])


def wait_for_result(platform: PlatformHandle, probe_id: str) -> dict[str, Any]:
    def result() -> dict[str, Any]:
        snapshot = platform.db.collection("probe_results").document(probe_id).get()
        return (snapshot.to_dict() or {}) if snapshot.exists else {}

    try:
        return wait_until(result, timeout=PIPELINE_TIMEOUT_S, interval=0.1)
    except AssertionError as timeout:
        # Say where the pipeline stopped: the functions' errors and what Pub/Sub pushed.
        errors = [e for e in platform.function_logs() if e.get("severity") in ("ERROR", "CRITICAL")]
        raise AssertionError(
            f"no probe_results/{probe_id}: {timeout}\nfunction errors: {errors[-5:]}\n"
            f"deliveries: {platform.deliveries()[-5:]}\ndead letters: {platform.dead_letters()}"
        ) from None


def test_health_answers_200_with_every_check_ok(stack: PlatformHandle) -> None:
    response = stack.http.get(stack.url("health"), timeout=60)
    assert response.status_code == 200, response.text
    report = response.json()["data"]
    assert report["version"]
    assert set(report["checks"]) == {"firestore", "pubsub", "storage"}
    assert all(check["ok"] for check in report["checks"].values()), report


def test_unknown_function_is_404(stack: PlatformHandle) -> None:
    assert stack.http.get(stack.url("no_such_function"), timeout=30).status_code == 404


def test_every_declared_function_is_served(stack: PlatformHandle) -> None:
    served = {f["name"]: f for f in stack.functions()}
    assert {"health", "probes", "on_probe_created", "on_probe_message", "purge_expired"} <= set(
        served
    )
    assert served["on_probe_created"]["eventFilterPathPatterns"] == {"document": "probes/{probeId}"}
    assert served["on_probe_message"]["eventFilters"] == {"topic": "probes"}


def test_probe_flows_from_http_through_firestore_and_pubsub_to_a_result(
    platform: PlatformHandle,
) -> None:
    headers = admin_headers(platform)
    probe_id = create_probe(platform, headers)
    result = wait_for_result(platform, probe_id)
    assert result["probeId"] == probe_id
    assert result["deliveries"] == 1
    probe = platform.db.collection("probes").document(probe_id).get().to_dict()
    assert probe is not None
    assert probe["status"] == "published"
    assert probe["messageId"] == result["messageId"]
    # The HTTP read path sees the finished pipeline too.
    view = platform.http.get(platform.url("probes", f"/{probe_id}"), headers=headers, timeout=60)
    assert view.status_code == 200, view.text
    assert view.json()["data"]["result"]["probeId"] == probe_id
    assert platform.wait_idle()
    assert platform.dead_letters() == []


def invocations(platform: PlatformHandle, function: str, since: int) -> int:
    """Requests the functions host served to `function` since the log mark (its access log)."""
    return sum(
        1
        for entry in platform.function_logs(since)
        if entry.get("function") == function and "latencyMs" in entry
    )


def test_duplicate_delivery_of_triggers_and_messages_gives_the_same_result(
    platform: PlatformHandle,
) -> None:
    headers = admin_headers(platform)
    assert platform.wait_idle()
    mark = platform.log_mark()
    with platform.duplicate_delivery():
        probe_id = create_probe(platform, headers)
        first = wait_for_result(platform, probe_id)
        # Let every duplicate trigger and push land before looking again.
        assert platform.wait_idle()
    result = platform.db.collection("probe_results").document(probe_id).get().to_dict()
    assert result == first
    assert result is not None and result["deliveries"] == 1
    probe = platform.db.collection("probes").document(probe_id).get().to_dict()
    assert probe is not None and probe["messageId"] == result["messageId"]
    # Both copies reached the functions (and were absorbed there), not lost on the way.
    assert invocations(platform, "on_probe_created", mark) >= 2
    assert invocations(platform, "on_probe_message", mark) >= 2
    pushes = [d for d in platform.deliveries() if d["messageId"] == result["messageId"]]
    assert len([p for p in pushes if p["ok"]]) >= 2, f"not delivered twice: {pushes}"
    assert platform.dead_letters() == []


def test_a_probe_that_does_not_exist_is_404(platform: PlatformHandle) -> None:
    response = platform.http.get(
        platform.url("probes", "/does-not-exist"), headers=admin_headers(platform), timeout=60
    )
    assert response.status_code == 404


def test_auth_emulator_issues_real_id_tokens_with_claims(stack: PlatformHandle) -> None:
    import firebase_admin
    from firebase_admin import auth

    user = stack.create_user(claims={"role": "admin"})
    assert user.uid and user.id_token.count(".") == 2
    app_name = f"verify-{user.uid}"
    app = firebase_admin.initialize_app(options={"projectId": stack.project}, name=app_name)
    try:
        # FIREBASE_AUTH_EMULATOR_HOST (set for the session) makes firebase_admin accept the
        # emulator's tokens, as the functions do locally.
        decoded = auth.verify_id_token(user.id_token, app=app)
    finally:
        firebase_admin.delete_app(app)
    assert decoded["uid"] == user.uid
    assert decoded["role"] == "admin"


def test_storage_emulator_serves_the_default_bucket(stack: PlatformHandle) -> None:
    bucket = stack.storage_client().bucket(stack.storage_bucket)
    blob = bucket.blob(f"e2e/{stack.project}/hello.txt")
    blob.upload_from_string(b"hello, platform")
    assert bucket.blob(blob.name).download_as_bytes() == b"hello, platform"
    blob.delete()


@pytest.mark.parametrize("name", ["purge_expired"])
def test_scheduled_function_runs_on_request(stack: PlatformHandle, name: str) -> None:
    response = stack.run_schedule(name)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == 200


def test_web_clients_get_the_security_rules_and_functions_do_not(
    stack: PlatformHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stack's Firestore applies firestore.rules to client tokens, as production does: a web
    client with a real Auth-emulator ID token reads its own user document and nothing it does not
    own, and writes nothing; the functions (admin SDK, `owner`) are not subject to the rules."""
    from google.api_core import exceptions

    from emulators.firestore.rules.testing import client_as

    alice, bob = stack.create_user(), stack.create_user()
    for user in (alice, bob):  # the first authenticated call provisions users/{uid}
        response = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=60)
        assert response.status_code == 200, response.text

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", stack.firestore_host)
    web = client_as(stack.project, alice.id_token)
    try:
        own = web.collection("users").document(alice.uid).get()
        assert own.exists and own.to_dict()["uid"] == alice.uid
        with pytest.raises(exceptions.PermissionDenied):
            web.collection("users").document(bob.uid).get()
        with pytest.raises(exceptions.PermissionDenied):
            web.collection("users").document(alice.uid).update({"role": "admin"})
        with pytest.raises(exceptions.PermissionDenied):
            web.collection("audit_logs").limit(1).get()
    finally:
        web.close()
    assert stack.db.collection("users").document(bob.uid).get().exists
