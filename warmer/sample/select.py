"""Which requests an import keeps: a time window, a method filter, key-hash downsampling.

Downsampling decides per cache key, never per request: a keyed hash of the key is
compared with the rate, so either every request for a key is kept or none is, and the
reuse structure of the traffic survives (the SHARDS idea, Waldspurger et al., FAST '15).
The same seed and rate always keep the same keys: a scrubbed value's pseudonym (salted
anew on every import, ``scrub.py``) is hashed as plain ``REDACTED``, so the keys that
differ only by their secret values are kept or dropped together, whatever the salt.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

_SPAN = float(1 << 64)
_PSEUDONYM = re.compile(r"REDACTED-[0-9a-f]{16}")


@dataclass(frozen=True)
class Selection:
    """Filters applied on import; the defaults keep everything."""

    since: float | None = None
    """Keep requests at or after this epoch second."""
    until: float | None = None
    """Keep requests before this epoch second."""
    methods: tuple[str, ...] = ()
    """Upper-case methods kept; empty keeps all."""
    sample_rate: float = 1.0
    """Share of cache keys kept, 0 < rate <= 1."""
    seed: int = 0
    _salt: bytes = field(init=False, repr=False, compare=False, default=b"")

    def __post_init__(self) -> None:
        if not 0.0 < self.sample_rate <= 1.0:
            raise ValueError("sample rate must be in (0, 1]")
        object.__setattr__(self, "_salt", self.seed.to_bytes(8, "big", signed=True))

    def keeps_key(self, key: str) -> bool:
        """Whether requests for ``key`` are kept by downsampling (deterministic)."""
        if self.sample_rate >= 1.0:
            return True
        if "REDACTED-" in key:
            key = _PSEUDONYM.sub("REDACTED", key)
        digest = hashlib.blake2b(key.encode(), digest_size=8, key=self._salt).digest()
        return int.from_bytes(digest, "big") / _SPAN < self.sample_rate

    def describe(self) -> dict[str, Any]:
        """The filters as stored in the sample's metadata (only those in force)."""
        out: dict[str, Any] = {}
        if self.since is not None:
            out["since"] = self.since
        if self.until is not None:
            out["until"] = self.until
        if self.methods:
            out["methods"] = list(self.methods)
        if self.sample_rate < 1.0:
            out["sample_rate"] = self.sample_rate
            out["seed"] = self.seed
        return out
