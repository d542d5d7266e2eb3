"""The ranges numeric settings must lie in, shared by ``warmer.toml`` and the CLI flags.

One table, so that ``[replay] rate = nan`` in the file and ``--rate nan`` on the command
line are refused with the same words, before anything is sent. Every bound is finite:
NaN and infinities are never a valid setting (TOML and ``float()`` both accept them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from warmer.errors import ConfigError

WEEK_S = 7 * 86_400.0
"""The longest wait any setting may ask for (timeouts, pauses, ramps)."""
MAX_RATE = 10_000_000.0
"""Requests per second; far beyond what one replay can send."""
MAX_COUNT = 2**31 - 1
"""Counts of requests, windows and streaks."""


@dataclass(frozen=True)
class Bound:
    """A closed or half-open range ``[lo, hi]`` of finite numbers (``integer``: whole ones)."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False

    def describe(self) -> str:
        """``a number > 0 and <= 604800`` and the like, for error messages."""
        kind = "a whole number" if self.integer else "a number"
        lo = f"{'>' if self.lo_open else '>='} {self.lo:g}"
        hi = f"{'<' if self.hi_open else '<='} {self.hi:g}"
        return f"{kind} {lo} and {hi}"

    def interval(self) -> str:
        """The range in interval notation: ``(0, 604800]``."""
        return (
            f"{'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"
        )

    def problem(self, value: object) -> str | None:
        """Why ``value`` is outside this range (None when it is inside)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be {self.describe()}, got {value!r}"
        if self.integer and not isinstance(value, int):
            return f"must be {self.describe()}, got {value!r}"
        number = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
        if not math.isfinite(number):
            return f"must be {self.describe()}, got {value!r}"
        below = number <= self.lo if self.lo_open else number < self.lo
        above = number >= self.hi if self.hi_open else number > self.hi
        if below or above:
            return f"must be {self.describe()}, got {value!r}"
        return None


_SECONDS = Bound(0.0, WEEK_S, lo_open=True)
_PAUSE = Bound(0.0, WEEK_S)
_RATE = Bound(0.0, MAX_RATE, lo_open=True)
_SHARE = Bound(0.0, 1.0)
_FRACTION = Bound(0.0, 1.0, lo_open=True, hi_open=True)

LIMITS: dict[str, Bound] = {
    "sample.warm_fraction": _FRACTION,
    "replay.speed": Bound(0.0, 1e6, lo_open=True),
    "replay.max_gap_s": _PAUSE,
    "replay.rate": _RATE,
    "replay.ramp_s": _PAUSE,
    "replay.ramp_from": Bound(0.0, MAX_RATE),
    "replay.concurrency": Bound(1, 65_536, integer=True),
    "replay.timeout_s": _SECONDS,
    "replay.retries": Bound(0, 100, integer=True),
    "replay.processes": Bound(0, 1024, integer=True),
    "replay.fail_after": Bound(0, MAX_COUNT, integer=True),
    "replay.fail_share": _SHARE,
    "replay.fail_window": Bound(1, MAX_COUNT, integer=True),
    "replay.expect_workers": Bound(1, 1024, integer=True),
    "replay.workers_timeout_s": _SECONDS,
    "replay.protect_start_rate": _RATE,
    "replay.protect_interval_s": _SECONDS,
    "observe.interval_s": _SECONDS,
    "observe.timeout_s": _SECONDS,
    "observe.consistency_tolerance": _SHARE,
    "observe.lost_after_s": _SECONDS,
    "observe.sample_keys": Bound(1, 1_000_000, integer=True),
    "drift.maxmemory_ratio": Bound(0.0, 1e6),
    "drift.memory_per_key_ratio": Bound(0.0, 1e6),
    "drift.ttl_ratio": Bound(0.0, 1e6),
    "drift.ttl_p_value": _SHARE,
    "drift.ttl_max_statistic": _SHARE,
    "drift.no_expiry_tolerance": _SHARE,
    "drift.prefix_share_tolerance": _SHARE,
    "drift.min_keys": Bound(2, MAX_COUNT, integer=True),
    "drift.max_prefix_rows": Bound(1, 100_000, integer=True),
    "gate.warm_fraction": _FRACTION,
    "gate.warm_duration_s": Bound(0.0, 100 * 365 * 86_400.0, lo_open=True),
    "gate.settle_s": _PAUSE,
    "gate.warm_window": Bound(1, MAX_COUNT, integer=True),
    "gate.warm_margin": Bound(0.0, 1.0, hi_open=True),
    "gate.max_skip_rate": _SHARE,
}
"""``section.field`` -> its range; None values (unset optional settings) are not checked."""


def check_limits(section: str, values: object) -> None:
    """Raise :class:`ConfigError` with the path of the first field of ``values`` (a config
    dataclass of ``section``) outside its range."""
    prefix = f"{section}."
    for path, bound in LIMITS.items():
        if not path.startswith(prefix):
            continue
        name = path[len(prefix) :]
        value = getattr(values, name)
        if value is None:
            continue
        problem = bound.problem(value)
        if problem:
            raise ConfigError(problem, path=path)
