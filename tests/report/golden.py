"""Golden-file comparison; ``WARMER_UPDATE_GOLDEN=1`` rewrites the files instead of comparing."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """``text`` equals ``golden/NAME`` (or becomes it under ``WARMER_UPDATE_GOLDEN=1``)."""
    path = GOLDEN_DIR / name
    if os.environ.get("WARMER_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        return
    assert path.exists(), f"{path} is missing; run with WARMER_UPDATE_GOLDEN=1 to write it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden file; review, then regenerate"
