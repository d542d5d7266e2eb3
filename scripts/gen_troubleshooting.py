"""Write docs/troubleshooting.md from the diagnosis catalog and the error tree (``make docs``).

``--check`` writes nothing and exits 1 when the committed file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from warmer.gate.troubleshooting import render_troubleshooting

DOC = Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md"


def main(argv: list[str]) -> int:
    text = render_troubleshooting()
    if "--check" in argv:
        if DOC.read_text(encoding="utf-8") == text:
            return 0
        print(f"{DOC} is stale: run `make docs`", file=sys.stderr)
        return 1
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
