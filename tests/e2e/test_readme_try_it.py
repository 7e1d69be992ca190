"""The README's "Try it" snippet, exactly as written there, against the local stack (its
addresses swapped for the test stack's free ports): it works with only curl and python3, and
it works again on a second run (the user already exists: it signs in instead of failing)."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Final

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from emulators.stack.stack import REPO_ROOT
from tests.fixtures.stack import PlatformHandle

README: Final = REPO_ROOT / "README.md"
DEV_FUNCTIONS: Final = "http://127.0.0.1:5001/demo-aide/us-central1"
DEV_AUTH: Final = "http://127.0.0.1:9099"


def try_it_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("Try it") :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "no ```sh block after 'Try it' in README.md"
    snippet = match.group(1)
    assert DEV_FUNCTIONS in snippet and DEV_AUTH in snippet
    assert "jq" not in snippet.split()
    return snippet


def run(platform: PlatformHandle, snippet: str) -> str:
    functions = f"{platform.functions_base_url}/{platform.project}/{platform.region}"
    script = snippet.replace(DEV_FUNCTIONS, functions).replace(
        DEV_AUTH, f"http://{platform.auth_host}"
    )
    # Only what the README asks for on PATH besides a shell: curl and python3.
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_try_it_snippet_works_twice_in_a_row(platform: PlatformHandle) -> None:
    snippet = try_it_snippet()
    for attempt in ("first run (signs up)", "second run (signs in)"):
        output = run(platform, snippet)
        lines = output.splitlines()
        assert lines[0] == "True", (attempt, output)  # every health check ok
        assert any(re.fullmatch(r"task \w+: completed", line) for line in lines), (attempt, output)
        assert '"success":true' in output and '"events":[' in output, (attempt, output)
        assert lines[-1] == "AIDE API", (attempt, output)
    users = (
        platform.db.collection("users")
        .where(filter=FieldFilter("email", "==", "me@example.com"))
        .get()
    )
    assert len(users) == 1


def test_the_api_reference_is_served_anonymously_and_is_shared_openapi_json(
    stack: PlatformHandle,
) -> None:
    response = stack.http.get(stack.url("health", "/openapi.json"), timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.text == (REPO_ROOT / "shared" / "openapi.json").read_text(encoding="utf-8")
    assert "/health/openapi.json" in response.json()["paths"]
