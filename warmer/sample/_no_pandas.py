"""Keep pyarrow from importing pandas while an import runs (it costs ~0.4 s of start-up).

pyarrow imports pandas the first time it converts any Python object (``pa.array(list)``,
a scalar argument to a compute function) only to recognise pandas' own null values; the
import pipeline never hands it a pandas object. :func:`pandas_deferred` makes that
look-up fail while it is active, so pyarrow carries on without pandas. Anything that
really wants pandas afterwards (``Table.to_pandas``, ``Table.from_pandas``) still gets it:
pyarrow imports it again on those paths.

Meant for CLI commands whose process never needs pandas while they run (``sample
import``, ``gate``, ``demo``): while active, *every* thread's ``import pandas`` fails,
so a library embedding warmer should not use it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class _RefusePandas:
    """A ``sys.meta_path`` finder that makes ``import pandas`` fail."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name == "pandas":
            raise ImportError("pandas is not needed while warmer imports logs")
        return None


@contextlib.contextmanager
def pandas_deferred() -> Iterator[None]:
    """Refuse ``import pandas`` inside the block (a no-op when pandas is already loaded)."""
    if "pandas" in sys.modules:
        yield
        return
    finder = _RefusePandas()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
