"""Serves every function of a source directory in the foreground until SIGINT or SIGTERM.

python -m emulators.functions_host --source functions --project demo-aide --region us-central1
    --port 5001 [--firestore H:P --firestore-admin URL] [--pubsub H:P --pubsub-admin URL]
    [--storage H:P] [--auth H:P] [--no-schedules]

Prints `Functions host ready on HOST:PORT (N functions)` once serving and wired.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emulators.foreground import stop_on_signals
from emulators.functions_host.host import EmulatorHosts, FunctionsHost
from emulators.functions_host.logs import log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.functions_host", description=__doc__)
    parser.add_argument("--source", type=Path, default=Path("functions"))
    parser.add_argument("--project", default="demo-aide")
    parser.add_argument("--region", default="us-central1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001, help="0 = any free port")
    parser.add_argument("--firestore", help="Firestore emulator host:port")
    parser.add_argument("--firestore-admin", help="Firestore emulator admin URL (triggers)")
    parser.add_argument("--pubsub", help="Pub/Sub emulator host:port")
    parser.add_argument("--pubsub-admin", help="Pub/Sub emulator admin URL (push subscriptions)")
    parser.add_argument("--storage", help="Cloud Storage emulator host:port")
    parser.add_argument("--auth", help="Firebase Auth emulator host:port")
    parser.add_argument(
        "--no-schedules",
        action="store_true",
        help="do not run scheduled functions on their schedule (run-now still works)",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter for discovery (the venv's python)"
    )
    args = parser.parse_args(argv)

    stop = stop_on_signals()

    host = FunctionsHost(
        source_dir=args.source,
        project=args.project,
        region=args.region,
        host=args.host,
        port=args.port,
        emulators=EmulatorHosts(
            firestore=args.firestore, pubsub=args.pubsub, storage=args.storage, auth=args.auth
        ),
        firestore_admin_url=args.firestore_admin,
        pubsub_admin_url=args.pubsub_admin,
        run_schedules=not args.no_schedules,
        python=args.python,
    )
    try:
        host.start()
    except Exception as error:
        log("CRITICAL", f"functions host failed to start: {error}")
        return 1
    try:
        count = len(host.manifest.endpoints) if host.manifest else 0
        print(f"Functions host ready on {host.address} ({count} functions)", flush=True)
        stop.wait()
    finally:
        host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
