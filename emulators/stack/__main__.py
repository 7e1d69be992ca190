"""The whole platform locally, in the foreground, until Ctrl-C (SIGINT) or SIGTERM.

python -m emulators.stack --dev        standard ports (Firestore 8080, Auth 9099, Pub/Sub 8085,
                                       Storage 9199, functions 5001, Hosting 5000) — what
                                       `make dev` runs
python -m emulators.stack              every port free (runs beside `make dev`)

Stdout carries the endpoints table and one final "ready" line; the children's own output goes
to stderr, each line prefixed with the child's name. Exits non-zero, naming the child, if a
child dies.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from emulators.foreground import stop_on_signals
from emulators.functions_host.host import EmulatorHosts
from emulators.stack.processes import ChildFailed
from emulators.stack.stack import (
    DEFAULT_PROJECT,
    DEFAULT_REGION,
    OFFICIAL_EMULATORS_ENV,
    REPO_ROOT,
    LocalStack,
    StackError,
    StackPorts,
    official_emulator_hosts,
)

_output_lock = threading.Lock()


def _echo(name: str, line: str) -> None:
    with _output_lock:
        sys.stderr.write(f"[{name}] {line}\n")
        sys.stderr.flush()


def _say(line: str) -> None:
    with _output_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def external_emulators(env: dict[str, str]) -> EmulatorHosts:
    """Under `make test-firebase` every emulator announced in the env is used; otherwise only
    an already-set FIRESTORE_EMULATOR_HOST (someone running the official Firestore emulator)."""
    if env.get(OFFICIAL_EMULATORS_ENV) == "1":
        return official_emulator_hosts(env)
    return EmulatorHosts(firestore=env.get("FIRESTORE_EMULATOR_HOST") or None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dev", action="store_true", help="use the standard emulator ports")
    parser.add_argument("--project", default=DEFAULT_PROJECT)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--source", type=Path, default=REPO_ROOT / "functions")
    parser.add_argument(
        "--indexes",
        type=Path,
        default=REPO_ROOT / "firestore.indexes.json",
        help="composite indexes the Firestore emulator enforces",
    )
    parser.add_argument(
        "--no-index-enforcement", action="store_true", help="let queries run without indexes"
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=REPO_ROOT / "firestore.rules",
        help="security rules the Firestore emulator applies to client (non-admin) requests",
    )
    parser.add_argument(
        "--no-rules", action="store_true", help="let client requests through without rules"
    )
    parser.add_argument("--no-seed", action="store_true", help="skip seeding the platform")
    parser.add_argument(
        "--no-schedules", action="store_true", help="do not run scheduled functions by themselves"
    )
    args = parser.parse_args(argv)

    def interrupt_start(signum: int, frame: FrameType | None) -> None:
        # During start-up an exception is the way out: start() stops what it started.
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt_start)
    signal.signal(signal.SIGTERM, interrupt_start)

    indexes: Path | None = None if args.no_index_enforcement else args.indexes
    if indexes is not None and not indexes.is_file():
        _say(f"stack: WARNING {indexes} not found; Firestore runs without index enforcement")
        indexes = None
    rules: Path | None = None if args.no_rules else args.rules
    if rules is not None and not rules.is_file():
        _say(f"stack: WARNING {rules} not found; Firestore runs without security rules")
        rules = None
    stack = LocalStack(
        ports=StackPorts.standard() if args.dev else None,
        project=args.project,
        region=args.region,
        source_dir=args.source,
        indexes=indexes,
        rules=rules,
        external=external_emulators(dict(os.environ)),
        seed=not args.no_seed,
        run_schedules=not args.no_schedules,
        echo=_echo,
    )
    try:
        stack.start()
    except (ChildFailed, StackError) as error:
        _say(f"stack: failed to start: {error}")
        return 1
    except KeyboardInterrupt:
        _say("stack: interrupted while starting; stopped")
        return 130
    stop = stop_on_signals()
    try:
        _say(f"AIDE local platform (project {stack.project}, region {stack.region})")
        for name, where in stack.endpoints():
            _say(f"  {name:<10} {where}")
        _say("  shell env:  " + " ".join(f"{k}={v}" for k, v in stack.environment().items()))
        _say(
            f"Local platform ready: {stack.url('health')} — dashboard {stack.hosting_url} "
            "(Ctrl-C stops everything)"
        )
        dead = stack.wait(stop)
        if dead is not None:
            _say(f"stack: {dead.name} exited unexpectedly with code {dead.returncode}; stopping")
            return 1
        return 0
    finally:
        stack.stop()
        _say("stack: stopped")


if __name__ == "__main__":
    sys.exit(main())
