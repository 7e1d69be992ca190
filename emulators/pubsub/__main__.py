"""Runs the Pub/Sub emulator in the foreground until SIGINT or SIGTERM.

`python -m emulators.pubsub --host 127.0.0.1 --port 8085 [--admin-port N] [--duplicate-delivery]`
"""

from __future__ import annotations

import argparse
import sys

from emulators.foreground import default_admin_port, stop_on_signals
from emulators.pubsub.emulator import PubSubEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.pubsub", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085, help="gRPC port (0 = any free port)")
    parser.add_argument(
        "--admin-port", type=int, default=None, help="admin HTTP port (default: port + 1)"
    )
    parser.add_argument("--duplicate-delivery", action="store_true")
    parser.add_argument("--max-attempts", type=int, default=5)
    parser.add_argument("--min-backoff", type=float, default=0.2, help="seconds")
    parser.add_argument("--max-backoff", type=float, default=5.0, help="seconds")
    args = parser.parse_args(argv)
    admin_port = default_admin_port(args.port, args.admin_port)

    stop = stop_on_signals()

    emulator = PubSubEmulator(
        host=args.host,
        port=args.port,
        admin_port=admin_port,
        duplicate_delivery=args.duplicate_delivery,
        max_attempts=args.max_attempts,
        min_backoff=args.min_backoff,
        max_backoff=args.max_backoff,
    )
    emulator.start()
    try:
        print(f"Pub/Sub emulator ready on {emulator.address}", flush=True)
        print(
            f'{{"severity": "INFO", "message": "admin API on {emulator.admin_url}"}}',
            file=sys.stderr,
            flush=True,
        )
        stop.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
