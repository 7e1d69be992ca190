"""`python -m benchmarks.id_tokens [--calls N]`

What checking ID tokens for revocation costs, against the Auth emulator of a local stack:
- `verify_id_token` without the revocation check (signature and claims only; the emulator's
  tokens are unsigned, so production adds a local RSA check on cached certificates);
- with `check_revoked=True` on every call: one Auth API lookup (accounts:lookup) each;
- aide's verifier with its per-instance window (ID_TOKEN_RECHECK_SECONDS): one lookup, then hits.
Writes benchmarks/results/id_tokens.{md,json}. The emulator answers a lookup over loopback; in
production the lookup is a call to Google's Identity Toolkit API (tens of milliseconds), which is
what the window saves on every call but one per token, instance and window.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from aide.adapters.identity import CheckedTokens, FirebaseTokenVerifier  # noqa: E402
from emulators.stack.stack import LocalStack  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def sign_up(auth_host: str) -> str:
    response = requests.post(
        f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signUp",
        params={"key": "fake"},
        json={"email": "bench@example.com", "password": "secret12", "returnSecureToken": True},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["idToken"])


def timed(call: Callable[[], Any], calls: int) -> dict[str, float]:
    call()  # warm: app creation, connection pool
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
    }


def measure(calls: int) -> dict[str, Any]:
    stack = LocalStack(run_schedules=False, seed=False)
    stack.start()
    try:
        os.environ.update(stack.environment())
        token = sign_up(stack.auth_host)
        from firebase_admin import auth

        verifier = FirebaseTokenVerifier(stack.project, recheck_seconds=lambda: 0)
        app = verifier._get_app()
        cached = FirebaseTokenVerifier(
            stack.project, checked=CheckedTokens(), recheck_seconds=lambda: 30
        )
        return {
            "calls": calls,
            "no_revocation_check": {
                "auth_lookups_per_call": 0,
                **timed(lambda: auth.verify_id_token(token, app=app), calls),
            },
            "check_revoked_every_call": {
                "auth_lookups_per_call": 1,
                **timed(lambda: auth.verify_id_token(token, app=app, check_revoked=True), calls),
            },
            "aide_verifier_30s_window": {
                "auth_lookups_per_call": 0,
                "auth_lookups_per_token_instance_window": 1,
                **timed(lambda: cached.verify(token), calls),
            },
        }
    finally:
        stack.stop()


def write_report(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "id_tokens.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# ID token checks",
        "",
        f"Auth emulator over loopback, {results['machine']}; `python -m benchmarks.id_tokens`,"
        f" {results['calls']} calls each, one run.",
        "",
        "| check | Auth lookups per call | p50 ms | p95 ms |",
        "| --- | --- | --- | --- |",
    ]
    for name in ("no_revocation_check", "check_revoked_every_call", "aide_verifier_30s_window"):
        row = results[name]
        lines.append(
            f"| {name.replace('_', ' ')} | {row['auth_lookups_per_call']} | {row['p50_ms']} |"
            f" {row['p95_ms']} |"
        )
    every = results["check_revoked_every_call"]["p50_ms"]
    window = results["aide_verifier_30s_window"]["p50_ms"]
    lines += [
        "",
        f"Revocation checked on every call costs {every / max(window, 1e-6):.0f}x the p50 of the"
        " windowed verifier here (loopback); in production each lookup is a network call to"
        " Identity Toolkit, made once per token, instance and 30 s window instead.",
        "",
    ]
    (RESULTS / "id_tokens.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.id_tokens")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", **measure(args.calls)}
    write_report(results)
    print((RESULTS / "id_tokens.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
