"""`make bench`: run every benchmark in this folder, one subprocess each, results in results/.

Each benchmark is a subpackage with a ``__main__``; it writes its own Markdown and JSON report to
``benchmarks/results/``. Run one alone with ``python -m benchmarks.<name>``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmark_names() -> list[str]:
    return sorted(
        path.parent.name
        for path in HERE.glob("*/__main__.py")
        if not path.parent.name.startswith(("_", "."))
    )


def main(argv: list[str]) -> int:
    names = argv or benchmark_names()
    failed = []
    for name in names:
        started = time.monotonic()
        print(f"== benchmarks.{name}", flush=True)
        code = subprocess.call([sys.executable, "-m", f"benchmarks.{name}"], cwd=HERE.parent)
        elapsed = time.monotonic() - started
        print(f"== benchmarks.{name}: exit {code} in {elapsed:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
