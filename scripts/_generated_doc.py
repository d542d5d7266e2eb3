"""Write a generated page of docs/ (``make docs``), or check that the committed one is current.

``--check`` writes nothing and exits 1 when the committed file is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def write_or_check(name: str, render: Callable[[], str], argv: list[str]) -> int:
    """Render ``docs/NAME`` and write it (or, with ``--check``, compare it)."""
    doc = DOCS / name
    text = render()
    if "--check" in argv:
        if doc.read_text(encoding="utf-8") == text:
            return 0
        print(f"{doc} is stale: run `make docs`", file=sys.stderr)
        return 1
    doc.write_text(text, encoding="utf-8")
    print(f"wrote {doc}")
    return 0
