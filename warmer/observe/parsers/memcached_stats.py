"""Parse the reply of Memcached's ``stats`` command into typed counters.

Grammar (memcached ``protocol.txt``, "General-purpose statistics")::

    reply = *( "STAT" SP name SP value CRLF ) "END" CRLF
    name  = 1*( ALPHA / DIGIT / "_" / ":" )
    value = integer / decimal ("0.123") / seconds:micros ("12:345") / word

Integers become ``int``, decimals ``float``; other values stay strings. Lines that are not
``STAT`` lines (other than ``END``) are skipped and counted in ``MemcachedStats.malformed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME_RE = re.compile(r"[A-Za-z0-9_:]+")
_INT_RE = re.compile(r"-?[0-9]+")
_FLOAT_RE = re.compile(r"-?[0-9]*\.[0-9]+")


@dataclass(frozen=True)
class MemcachedStats:
    """Parsed ``stats``: values by name, and lines skipped."""

    values: dict[str, int | float | str] = field(default_factory=dict)
    malformed: int = 0

    def number(self, name: str) -> int | None:
        """Stat ``name`` as an integer, or None when absent or not numeric."""
        value = self.values.get(name)
        return int(value) if isinstance(value, int | float) else None


def parse_stats(text: str) -> MemcachedStats:
    """Parse a ``stats`` reply; never raises."""
    values: dict[str, int | float | str] = {}
    malformed = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "END":
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or parts[0] != "STAT" or not _NAME_RE.fullmatch(parts[1]):
            malformed += 1
            continue
        values[parts[1]] = _typed(parts[2].strip())
    return MemcachedStats(values, malformed)


def _typed(text: str) -> int | float | str:
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    return text
