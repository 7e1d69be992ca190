"""``python -m emulators.firestore --host 127.0.0.1 --port 8080`` (see README.md)."""

from __future__ import annotations

import argparse
import gc
import sys

from emulators.firestore import FirestoreEmulator
from emulators.firestore.rules import RulesSyntaxError
from emulators.foreground import default_admin_port, stop_on_signals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.firestore")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--admin-port", type=int, default=None, help="admin HTTP port (default: port + 1)"
    )
    parser.add_argument("--indexes", help="firestore.indexes.json: enforce it for every project")
    parser.add_argument(
        "--rules", help="firestore.rules: evaluate it for client (ID token) requests"
    )
    parser.add_argument("--import", dest="import_dir", help="load documents exported earlier")
    parser.add_argument("--export-on-exit", help="write all documents here on shutdown")
    parser.add_argument(
        "--grpc-socket",
        help="Unix socket where grpcio itself listens (default: a temporary one); gRPC clients "
        "may connect to it directly as unix:PATH, bypassing the public port's multiplexer",
    )
    parser.add_argument(
        "--grpc-port",
        type=int,
        help="also serve gRPC directly from grpcio on this TCP port (0: a free one), for "
        "server-side clients that want to skip the public port's multiplexer",
    )
    args = parser.parse_args(argv)
    admin_port = default_admin_port(args.port, args.admin_port)
    try:
        emulator = FirestoreEmulator(
            host=args.host,
            port=args.port,
            admin_port=admin_port,
            indexes_path=args.indexes,
            import_dir=args.import_dir,
            export_on_exit=args.export_on_exit,
            rules_path=args.rules,
            grpc_socket=args.grpc_socket,
            grpc_port=args.grpc_port,
        ).start()
    except RulesSyntaxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = stop_on_signals()
    # Library objects loaded at startup live forever; freezing them keeps full garbage
    # collections (which otherwise walk them all) from adding to request tail latency, and a
    # larger young generation stops a 10,000-document query from triggering dozens of them.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    direct = f" (gRPC direct on {args.host}:{emulator.grpc_port})" if emulator.grpc_port else ""
    print(f"Firestore emulator ready on {emulator.address}{direct}", flush=True)
    while not stop.wait(0.5):
        pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
