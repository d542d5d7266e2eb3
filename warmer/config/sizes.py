"""Cache capacities and durations as people write them: ``10000 objects``, ``2GB``, ``1h``.

Grammar (whitespace between number and unit is optional, units are case-insensitive)::

    capacity ::= number [object-unit | byte-unit]     ; a bare number counts objects
    object-unit ::= "objects" | "object" | "keys" | "entries"
    byte-unit   ::= "B" | "KB" | "MB" | "GB" | "TB"   ; binary multiples (2^10 ...), as
                                                       ; Redis counts maxmemory
    duration ::= number ["ms" | "s" | "m" | "h" | "d"]   ; default seconds

Used by ``[tiers.NAME] capacity`` and by ``warmer sample inspect --simulate``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

_NUMBER = r"(\d[\d_]*(?:\.\d+)?|\.\d+)"
_CAPACITY = re.compile(rf"^\s*{_NUMBER}\s*([A-Za-z]*)\s*$")
_DURATION = re.compile(rf"^\s*{_NUMBER}\s*(ms|s|m|h|d)?\s*$")
_OBJECT_UNITS = frozenset({"", "objects", "object", "keys", "key", "entries", "entry"})
_BYTE_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


@dataclass(frozen=True)
class Capacity:
    """How much a cache holds: ``amount`` objects or bytes."""

    amount: float
    unit: Literal["objects", "bytes"]

    def __str__(self) -> str:
        if self.unit == "objects":
            return f"{self.amount:,.0f} objects"
        for name, factor in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
            if self.amount >= factor:
                return f"{self.amount / factor:,.4g} {name}"
        return f"{self.amount:,.0f} B"


def parse_capacity(value: int | float | str) -> Capacity:
    """``10000`` / ``"10000 objects"`` → objects; ``"512MB"`` → bytes; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"capacity {value!r} is not a number of objects or bytes")
    if isinstance(value, int | float):
        amount, unit = (float(value) if abs(value) < 1e300 else math.inf), ""
    else:
        match = _CAPACITY.match(value)
        if match is None:
            raise ValueError(f"cannot read capacity {value!r}: write e.g. 10000 objects or 2GB")
        amount, unit = float(match.group(1).replace("_", "")), match.group(2).lower()
    if amount <= 0:
        raise ValueError(f"capacity {value!r} must be greater than 0")
    if not amount < 1e18:  # NaN and infinities fail this too
        raise ValueError(f"capacity {value!r} must be a finite number below 1e18")
    if unit in _OBJECT_UNITS:
        return Capacity(amount, "objects")
    if unit in _BYTE_UNITS:
        return Capacity(amount * _BYTE_UNITS[unit], "bytes")
    raise ValueError(f"unknown capacity unit {unit!r}: use objects, B, KB, MB, GB or TB")


def parse_duration(value: int | float | str) -> float:
    """``90`` / ``"90s"`` / ``"1.5m"`` / ``"250ms"`` / ``"1h"`` / ``"1d"`` → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) if abs(value) < 1e300 else math.inf
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"cannot read duration {value!r}: write e.g. 90s, 1.5m or 1h")
        seconds = float(match.group(1).replace("_", "")) * _SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be greater than 0")
    if not seconds <= 100 * 365 * 86_400:  # NaN and infinities fail this too
        raise ValueError(f"duration {value!r} must be finite, at most 100 years")
    return seconds
