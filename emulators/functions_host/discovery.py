"""Functions discovery exactly as `firebase deploy` runs it for Python sources.

firebase-tools (lib/deploy/functions/runtimes/python/index.js) first looks for a static
`functions.yaml` in the source directory; failing that it runs the SDK's admin server
(`firebase_functions/private/serving.py`) in the source directory with `ADMIN_PORT`, the Firebase
env (`FIREBASE_CONFIG`, `GCLOUD_PROJECT`, `GOOGLE_CLOUD_QUOTA_PROJECT`), polls
`GET /__/functions.yaml`, then stops it with `GET /__/quitquitquit`. We do the same, so the
manifest served locally is the one that would deploy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import yaml

from emulators.functions_host.manifest import Manifest, parse_manifest
from emulators.stack.ports import free_port

SERVING_MODULE = "firebase_functions.private.serving"
QUIT_TIMEOUT_S = 5.0
# firebase-tools waits 10 s by default (FUNCTIONS_DISCOVERY_TIMEOUT overrides it); a loaded CI
# machine importing the whole SDK needs more headroom than that.
DEFAULT_TIMEOUT_S = 60.0


class DiscoveryError(RuntimeError):
    """The source could not be analysed (import error, timeout, bad manifest)."""


def firebase_env(project: str) -> dict[str, str]:
    """The env firebase-tools gives the discovery process (functions/env.js loadFirebaseEnvs)."""
    return {
        "FIREBASE_CONFIG": json.dumps(
            {"projectId": project, "storageBucket": f"{project}.appspot.com"}
        ),
        "GCLOUD_PROJECT": project,
        "GOOGLE_CLOUD_QUOTA_PROJECT": project,
    }


def discover_manifest_text(
    source_dir: Path,
    project: str,
    python: str = sys.executable,
    extra_env: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> str:
    static = source_dir / "functions.yaml"
    if static.is_file():
        return static.read_text(encoding="utf-8")
    port = free_port()
    env = {**os.environ, **firebase_env(project), **(extra_env or {}), "ADMIN_PORT": str(port)}
    # A file, not a pipe: the server's output is only read when discovery fails, and an unread
    # pipe could fill up and stall it.
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [python, "-m", SERVING_MODULE],
            cwd=source_dir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return _fetch_manifest(process, port, timeout_s)
        except DiscoveryError as error:
            _quit(process, port)
            output.seek(0)
            tail = output.read()[-8000:].decode(errors="replace")
            raise DiscoveryError(f"{error}\n--- discovery server output ---\n{tail}") from None
        finally:
            _quit(process, port)


def discover(
    source_dir: Path,
    project: str,
    python: str = sys.executable,
    extra_env: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Manifest:
    text = discover_manifest_text(source_dir, project, python, extra_env, timeout_s)
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise DiscoveryError(f"functions.yaml is not a mapping: {text[:200]!r}")
    return parse_manifest(document)


def _fetch_manifest(process: subprocess.Popen[bytes], port: int, timeout_s: float) -> str:
    url = f"http://127.0.0.1:{port}/__/functions.yaml"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DiscoveryError(f"user code failed to load (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise DiscoveryError(
                f"functions codebase could not be analysed (HTTP {error.code})"
            ) from error
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise DiscoveryError(f"user code failed to load: no manifest after {timeout_s:.0f}s")


def _quit(process: subprocess.Popen[bytes], port: int) -> None:
    if process.poll() is None:
        try:
            urllib.request.urlopen(
                f"http://127.0.0.1:{port}/__/quitquitquit", timeout=QUIT_TIMEOUT_S
            ).close()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
    try:
        process.wait(timeout=QUIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
