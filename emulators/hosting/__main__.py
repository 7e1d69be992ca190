"""Serves firebase.json's hosting site in the foreground until SIGINT or SIGTERM.

`python -m emulators.hosting --port 5000 --functions http://127.0.0.1:5001 --project demo-aide
[--auth 127.0.0.1:9099] [--firestore 127.0.0.1:8080] [--config firebase.json]`
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emulators.foreground import stop_on_signals
from emulators.hosting.config import HostingConfig, HostingConfigError
from emulators.hosting.server import HostingApp, HostingServer, emulator_init_json

REPO_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.hosting", description=__doc__)
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "firebase.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0 = any free port")
    parser.add_argument("--functions", required=True, help="base URL of the functions host")
    parser.add_argument("--project", required=True)
    parser.add_argument("--auth", default=None, help="Auth emulator host:port for the web app")
    parser.add_argument("--firestore", default=None, help="Firestore emulator host:port")
    args = parser.parse_args(argv)

    stop = stop_on_signals()
    try:
        config = HostingConfig.from_firebase_json(args.config)
    except (HostingConfigError, OSError, ValueError) as error:
        print(f"hosting: {error}", file=sys.stderr, flush=True)
        return 2
    if not (config.public / "index.html").is_file():
        print(
            f'{{"severity": "WARNING", "message": "{config.public}/index.html is missing: '
            'build the web app (make web)"}',
            file=sys.stderr,
            flush=True,
        )
    app = HostingApp(
        config,
        functions_url=args.functions,
        project=args.project,
        init_json=emulator_init_json(args.project, args.auth, args.firestore),
    )
    server = HostingServer(app, host=args.host, port=args.port).start()
    try:
        print(f"Hosting emulator ready on {server.url}", flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
