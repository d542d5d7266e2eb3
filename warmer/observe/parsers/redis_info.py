"""Parse the text of Redis ``INFO`` into typed fields and per-database keyspace figures.

Grammar (https://redis.io/commands/info)::

    info      = *( line CRLF )
    line      = section / field / empty
    section   = "# " name                     ; "# Stats", "# Keyspace"
    field     = name ":" value                ; "keyspace_hits:1234"
    keyspace  = "db" 1*DIGIT ":" pair *( "," pair )   ; under "# Keyspace"
    pair      = name "=" value                ; "keys=10,expires=2,avg_ttl=0"

Values that look like integers become ``int``, decimals ``float``, anything else stays a
string. A line that fits none of these is skipped and counted in ``RedisInfo.malformed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
_INT_RE = re.compile(r"-?[0-9]+")
_FLOAT_RE = re.compile(r"-?[0-9]*\.[0-9]+(?:[eE][-+]?[0-9]+)?")

Value = int | float | str


@dataclass(frozen=True)
class RedisInfo:
    """Parsed ``INFO``: flat fields, keyspace per database (``db0`` ...), skipped lines."""

    fields: dict[str, Value] = field(default_factory=dict)
    keyspace: dict[str, dict[str, Value]] = field(default_factory=dict)
    malformed: int = 0

    def number(self, name: str) -> int | None:
        """Field ``name`` as an integer, or None when absent or not numeric."""
        value = self.fields.get(name)
        return int(value) if isinstance(value, int | float) else None

    @property
    def keys(self) -> int:
        """Keys held over all databases."""
        return sum(int(db.get("keys", 0)) for db in self.keyspace.values())

    @property
    def expires(self) -> int:
        """Keys with a TTL over all databases."""
        return sum(int(db.get("expires", 0)) for db in self.keyspace.values())


def parse_info(text: str) -> RedisInfo:
    """Parse ``INFO`` output (any sections); never raises."""
    fields: dict[str, Value] = {}
    keyspace: dict[str, dict[str, Value]] = {}
    malformed = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep or not _NAME_RE.fullmatch(name):
            malformed += 1
        elif name.startswith("db") and name[2:].isdigit():
            pairs = _pairs(value)
            if pairs is None:
                malformed += 1
            else:
                keyspace[name] = pairs
        else:
            fields[name] = _typed(value)
    return RedisInfo(fields, keyspace, malformed)


def _pairs(text: str) -> dict[str, Value] | None:
    pairs: dict[str, Value] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not _NAME_RE.fullmatch(key):
            return None
        pairs[key] = _typed(value)
    return pairs


def _typed(text: str) -> Value:
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    return text
