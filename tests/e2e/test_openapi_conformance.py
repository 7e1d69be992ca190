"""shared/openapi.json against the running functions: schemathesis fuzzes every documented
operation (valid and invalid inputs) with a real Auth-emulator ID token and checks that nothing
answers 5xx and that every answer is documented — its status, its content type and its body
(the envelope and its `data`).

* test_operation_conforms: every operation, every input generated (item ids almost always miss).
* test_operation_conforms_on_existing_resources: operations with path ids, the ids replaced by
  resources the caller owns, so that their success responses are checked too.
* test_ids_firestore_refuses_get_documented_answers: every path id set to one Firestore refuses.

The caller is a fresh admin per operation (see `caller`). Bounded and reproducible: a fixed
number of examples per operation, derandomized generation, no example database, no coverage or
stateful phase. A failure prints the exact request as a curl command; known failures of
operations still in progress are xfail (not strict) with the failing check as the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from emulators.stack.stack import REPO_ROOT
from tests.fixtures.stack import AuthUser, PlatformHandle

OPENAPI: Final = REPO_ROOT / "shared" / "openapi.json"
TIMEOUT_S: Final = 60
EXAMPLES_PER_OPERATION: Final = 20
# An allowance no fuzzing run spends, so that the quota does not answer in the handlers' place.
LARGE_ALLOWANCE: Final = 1_000_000
# One of the agents the stack seeds (emulators/stack seed data).
SEEDED_AGENT: Final = "coder"
CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Path ids Firestore refuses as document ids. '/' splits the path and HTTP clients resolve the
# '.' and '..' segments before sending, so only the __reserved__ form reaches a handler from here.
FIRESTORE_REFUSED_IDS: Final = ("__reserved__",)
_RESERVED_ID_FORM: Final = re.compile(r"^__.*__$", re.DOTALL)
# Operations whose owners are still at work, by schemathesis label: the reason names the checks
# that fail and why. Marked xfail (not strict) so that a fix shows as XPASS.
KNOWN_FUZZ_FAILURES: Final[dict[str, str]] = {}
KNOWN_REFUSED_ID_FAILURES: Final[dict[str, str]] = {}

CONFIG: Final = schemathesis.Config.from_dict(
    {
        "seed": 20261124,
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
        },
        # The coverage phase is not bounded by max-examples (it enumerates every boundary of
        # every schema) and would take most of this file's time budget; fuzzing samples the
        # same space, and the explicit test below pins the ids fuzzing only meets by chance.
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)

HYPOTHESIS_SETTINGS: Final = hypothesis.settings(
    deadline=None, suppress_health_check=list(hypothesis.HealthCheck), print_blob=False
)

schema = schemathesis.openapi.from_path(OPENAPI, config=CONFIG)


@pytest.fixture
def caller(stack: PlatformHandle) -> Iterator[AuthUser]:
    """A fresh admin per operation (the highest role reaches every code path; a fresh account
    because DELETE and PATCH operations may change it, and another test's reset may delete it),
    with an allowance large enough that fuzzing reaches the handlers instead of the quota."""
    user = stack.create_user()
    provisioned = stack.http.get(stack.url("users", "/me"), headers=user.headers, timeout=TIMEOUT_S)
    assert provisioned.status_code == 200, provisioned.text
    stack.db.collection("users").document(user.uid).update(
        {
            "role": "admin",
            "quotas.apiCalls.limit": LARGE_ALLOWANCE,
            "quotas.apiCalls.burstLimit": LARGE_ALLOWANCE,
        }
    )
    yield user


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def existing_ids(stack: PlatformHandle, caller: AuthUser, http: requests.Session) -> dict[str, str]:
    """Ids of resources the caller can reach, by path parameter name: generated ids almost
    always miss, and only real ones exercise the success responses of item operations."""

    def create(function: str, body: dict[str, Any]) -> dict[str, Any]:
        response = http.post(
            stack.url(function), json=body, headers=caller.headers, timeout=TIMEOUT_S
        )
        assert response.status_code == 201, f"{function}: {response.status_code} {response.text}"
        return dict(response.json()["data"])

    project = create("projects", {"name": "conformance", "visibility": "team"})["project"]
    group = create(
        "task_groups",
        {
            "projectId": project["id"],
            "tasks": [
                {"ref": "first", "title": "first step", "description": "runs first, at once"},
                {
                    "ref": "second",
                    "title": "second step",
                    "description": "waits for the first step",
                    "dependencies": ["first"],
                },
            ],
        },
    )["taskGroup"]
    api_key = create("api_keys", {"name": "conformance", "scopes": ["tasks:read"]})["apiKey"]
    probe = create("probes", {})
    return {
        "projectId": project["id"],
        "groupId": group["id"],
        "taskId": group["tasks"][0]["id"],
        "keyId": api_key["id"],
        "probeId": probe["probeId"],
        "agentId": SEEDED_AGENT,
        "uid": caller.uid,
    }


def _firestore_refuses(document_id: str) -> bool:
    return document_id in (".", "..") or bool(_RESERVED_ID_FORM.match(document_id))


def _assume_ids_firestore_accepts(case: schemathesis.Case) -> None:
    """Ids Firestore refuses are test_ids_firestore_refuses_get_documented_answers' business:
    fuzzing meets them only by chance, which would make this test's outcome a matter of luck."""
    hypothesis.assume(
        not any(_firestore_refuses(str(v)) for v in (case.path_parameters or {}).values())
    )


def _call_and_validate(
    case: schemathesis.Case,
    stack: PlatformHandle,
    caller: AuthUser,
    http: requests.Session,
    request: pytest.FixtureRequest,
    known_failures: dict[str, str],
) -> None:
    known = known_failures.get(case.operation.label)
    if known is not None:
        request.node.add_marker(pytest.mark.xfail(reason=known, strict=False))
    base_url = f"{stack.functions_base_url}/{stack.project}/{stack.region}"
    headers: dict[str, Any] = dict(caller.headers)
    response = case.call(base_url=base_url, session=http, headers=headers, timeout=TIMEOUT_S)
    case.validate_response(response, checks=CHECKS, headers=headers)


@schema.parametrize()
@HYPOTHESIS_SETTINGS
def test_operation_conforms(
    case: schemathesis.Case,
    stack: PlatformHandle,
    caller: AuthUser,
    http: requests.Session,
    request: pytest.FixtureRequest,
) -> None:
    _assume_ids_firestore_accepts(case)
    _call_and_validate(case, stack, caller, http, request, KNOWN_FUZZ_FAILURES)


@schema.include(path_regex=r"\{").parametrize()
@HYPOTHESIS_SETTINGS
def test_operation_conforms_on_existing_resources(
    case: schemathesis.Case,
    stack: PlatformHandle,
    caller: AuthUser,
    existing_ids: dict[str, str],
    http: requests.Session,
    request: pytest.FixtureRequest,
) -> None:
    case.path_parameters = {
        name: existing_ids.get(name, value) for name, value in (case.path_parameters or {}).items()
    }
    _call_and_validate(case, stack, caller, http, request, KNOWN_FUZZ_FAILURES)


def _item_operations() -> list[schemathesis.APIOperation]:
    operations = []
    for result in schema.include(path_regex=r"\{").get_all_operations():
        if isinstance(result, Err):
            # The parametrized fuzz test reports a broken operation; this one has nothing to send.
            continue
        operations.append(result.ok())
    return operations


@pytest.mark.parametrize("refused_id", FIRESTORE_REFUSED_IDS)
@pytest.mark.parametrize("operation", _item_operations(), ids=lambda operation: operation.label)
def test_ids_firestore_refuses_get_documented_answers(
    operation: schemathesis.APIOperation,
    refused_id: str,
    stack: PlatformHandle,
    caller: AuthUser,
    http: requests.Session,
    request: pytest.FixtureRequest,
) -> None:
    """Fuzzing meets these only by chance: every path id is client input that Firestore may
    refuse as a document id, which must be a documented answer (404 or 400), never a 500."""
    case = operation.Case(
        path_parameters={parameter.name: refused_id for parameter in operation.path_parameters},
        body={} if list(operation.body) else NOT_SET,
        media_type="application/json" if list(operation.body) else None,
    )
    _call_and_validate(case, stack, caller, http, request, KNOWN_REFUSED_ID_FAILURES)
