"""`python -m aide.contracts OUTPUT_DIR` (from functions/) regenerates the shared/ contracts."""

import sys
from pathlib import Path

from aide.contracts.generate import write


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m aide.contracts OUTPUT_DIR", file=sys.stderr)
        return 2
    written = write(Path(argv[0]))
    print(f"wrote {len(written)} contract files under {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
