"""``python -m benchmarks.firestore_emulator``: measure both emulators, write the results."""

from __future__ import annotations

import contextlib
import sys
import time

from benchmarks.firestore_emulator import report, servers, workloads


def main() -> int:
    started = time.perf_counter()
    peer_error = None
    with contextlib.ExitStack() as running:
        ours_target = running.enter_context(servers.ours())
        targets = {"ours": ours_target}
        if ours_target.direct_host is not None:
            # The same emulator reached past its multiplexer: what one public port costs.
            targets["ours_direct"] = servers.Target(ours_target.direct_host, ours_target.admin_url)
        try:
            targets["peer"] = running.enter_context(servers.peer())
        except Exception as exc:  # third-party peer: report its failure, still measure ours
            peer_error = f"{type(exc).__name__}: {exc}"
            print(f"peer failed to start: {peer_error}", file=sys.stderr, flush=True)
        figures = workloads.measure(targets)
    ours = figures["ours"].as_dict()
    peer = figures["peer"].as_dict() if "peer" in figures else None
    direct = figures["ours_direct"].as_dict() if "ours_direct" in figures else None
    result = report.build(ours, peer, peer_error, direct)
    json_path, md_path = report.write(result, servers.REPO / "benchmarks" / "results")
    print(report.markdown(result))
    print(f"wrote {json_path} and {md_path} in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
