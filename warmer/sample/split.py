"""Split a sample into the part that warms the cache and the held-out part that verifies it.

The split is by **time span**, not by request count: with ``warm_fraction=0.8`` the warm
part is every request with ``ts < t0 + 0.8 × (t1 − t0)`` (``t0``/``t1`` the first and last
timestamps) and the verify part is the rest. Splitting by time keeps what a deploy meets:
the verify part is the traffic that arrives *after* the warmup window, in whatever
volume it has, and a quiet or busy last fifth stays quiet or busy. Rows keep their order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

import pyarrow as pa

from warmer.errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

Frame = TypeVar("Frame", bound=Any)
"""``pyarrow.Table`` or ``pandas.DataFrame``; the split returns the type it was given."""


def time_cutoff(t_min: float, t_max: float, warm_fraction: float = 0.8) -> float:
    """The first timestamp that belongs to the verify part."""
    if not 0.0 < warm_fraction < 1.0:
        raise UsageError(
            f"warm fraction must be between 0 and 1 (exclusive), not {warm_fraction}",
            "use e.g. 0.8 to warm with the first 80 % of the sample's time span",
        )
    if not t_max > t_min:
        raise InputError(
            "the sample covers no time span, so it cannot be split into warm and verify parts",
            "use a sample recorded over a period of time (at least two distinct timestamps)",
        )
    return t_min + warm_fraction * (t_max - t_min)


def split_by_time(frame: Frame, warm_fraction: float = 0.8) -> tuple[Frame, Frame]:
    """(warm, verify) parts of an Arrow table or DataFrame with a ``ts`` column."""
    if isinstance(frame, pa.Table):
        return _split_arrow(frame, warm_fraction)
    return cast("tuple[Frame, Frame]", _split_pandas(cast("pd.DataFrame", frame), warm_fraction))


def _split_arrow(table: pa.Table, warm_fraction: float) -> tuple[pa.Table, pa.Table]:
    import pyarrow.compute as pc

    ts = table.column("ts")
    if table.num_rows == 0:
        raise _empty()
    bounds = pc.min_max(ts).as_py()
    cutoff = time_cutoff(float(bounds["min"]), float(bounds["max"]), warm_fraction)
    warm = pc.less(ts, cutoff)
    return table.filter(warm), table.filter(pc.invert(warm))


def _split_pandas(frame: pd.DataFrame, warm_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    ts = frame["ts"]
    if ts.empty:
        raise _empty()
    cutoff = time_cutoff(float(ts.min()), float(ts.max()), warm_fraction)
    warm = ts < cutoff
    return frame[warm], frame[~warm]


def _empty() -> InputError:
    return InputError("the sample holds no requests", "import some traffic into it first")
