"""Import pandas on a background thread early in commands whose pyarrow calls will need it.

pyarrow imports pandas (0.4-1 s) the first time it converts a Python list, only to
recognise pandas' null values. Commands that convert lists anyway (``sample import``,
``gate``, ``demo``) start that import at once on a daemon thread, so it overlaps their own
work (reading the sample, connecting to observers) instead of stalling it later. Nothing
is blocked: any code may import pandas at any time, and one that asks while the thread
is importing simply waits for it (the import lock).
"""

from __future__ import annotations

import contextlib
import sys
import threading


def preload_pandas() -> None:
    """Start importing pandas in the background (no-op when it is loaded or loading)."""
    if "pandas" in sys.modules:
        return

    def load() -> None:
        with contextlib.suppress(ImportError):
            import pandas  # noqa: F401

    threading.Thread(target=load, name="warmer-preload-pandas", daemon=True).start()
