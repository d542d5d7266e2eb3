"""Every knob of the reference candidate, as one frozen dataclass that crosses process lines.

The server subprocess receives its settings as a JSON file (``--settings-file``) or as
``WARMER_CANDIDATE_*`` environment variables, one per field, e.g.
``WARMER_CANDIDATE_L0_CAPACITY=500`` or ``WARMER_CANDIDATE_L2_URL=`` (empty: no L2).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warmer.errors import ConfigError

ENV_PREFIX = "WARMER_CANDIDATE_"


@dataclass(frozen=True)
class CandidateSettings:
    """How the candidate caches and how slow its backend is. Times are seconds or ms as named."""

    host: str = "127.0.0.1"
    port: int = 8080
    l0_capacity: int = 5_000
    """Entries the in-process LRU holds before it evicts the least recently used."""
    l0_ttl_s: float = 3600.0
    l1_url: str | None = None
    """Sidecar Redis (``unix:///path/redis.sock?db=0``); None means no L1 tier."""
    l1_ttl_s: float = 3600.0
    l2_url: str | None = None
    """Distributed Redis (``redis://127.0.0.1:6379/0``); None means no L2 tier."""
    l2_ttl_s: float = 3600.0
    key_prefix: str = "candidate:"
    """Prefix of every Redis key, so a shared Redis can tell the candidate's keys apart."""
    backend_latency_ms: float = 20.0
    """Mean time the origin takes to build a response."""
    backend_jitter_ms: float = 5.0
    """Latency is uniform in mean ± jitter."""
    backend_concurrency: int = 16
    """Requests the origin works on at once; the rest queue (and that shows as latency)."""
    backend_capacity_rps: float | None = None
    """Requests per second the origin can take; beyond it (a token bucket holding a tenth of a
    second's worth) it answers 503 at once, as an overloaded origin shedding load would.
    None (the default): no such limit."""
    x_cache: bool = False
    """Also emit the legacy ``X-Cache: HIT|MISS`` header (HIT when any tier answered)."""
    seed: int = 0
    """Seeds the backend's latency jitter, so runs are repeatable."""
    stale_fraction: float = 0.0
    """Share of the cacheable keys whose origin value changes right after the caches first
    store it, an invalidation the candidate skips: the caches keep serving the old value
    (old ``ETag`` and body) while a request around them (``Cache-Control: no-cache``) gets
    the new one. Exact, not random: of the first ``n`` keys filled from the origin,
    ``floor(n * stale_fraction)`` are made stale, spread evenly over the fill order."""
    invalidation_delay_s: float | None = 0.0
    """After a write (``POST /_admin/write``) the candidate drops the key from every tier
    this many seconds later; None: never (a write whose invalidation is lost)."""

    def __post_init__(self) -> None:
        if self.l0_capacity < 0:
            raise ConfigError("must be >= 0 (0 disables L0)", path="candidate.l0_capacity")
        if self.backend_concurrency < 1:
            raise ConfigError("must be >= 1", path="candidate.backend_concurrency")
        if self.backend_capacity_rps is not None and self.backend_capacity_rps <= 0:
            raise ConfigError("must be > 0", path="candidate.backend_capacity_rps")
        for name in ("l0_ttl_s", "l1_ttl_s", "l2_ttl_s"):
            if getattr(self, name) <= 0:
                raise ConfigError("must be > 0", path=f"candidate.{name}")
        if not 0.0 <= self.stale_fraction <= 1.0:
            raise ConfigError("must be between 0 and 1", path="candidate.stale_fraction")
        if self.invalidation_delay_s is not None and self.invalidation_delay_s < 0:
            raise ConfigError("must be >= 0", path="candidate.invalidation_delay_s")
        if self.backend_jitter_ms > self.backend_latency_ms or self.backend_latency_ms < 0:
            raise ConfigError(
                "needs 0 <= backend_jitter_ms <= backend_latency_ms",
                path="candidate.backend_latency_ms",
            )

    def replace(self, **changes: Any) -> CandidateSettings:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        """The settings as a JSON object (what ``from_json`` reads back)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CandidateSettings:
        """Settings from a JSON object; unknown fields are a ConfigError."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"candidate settings are not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError("candidate settings must be a JSON object")
        return cls._build(data)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CandidateSettings:
        """Defaults overlaid with ``WARMER_CANDIDATE_<FIELD>`` variables; empty URL = no tier."""
        data: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + item.name.upper())
            if raw is not None:
                data[item.name] = _coerce(item.name, str(item.type), raw)
        return cls._build(data)

    @classmethod
    def _build(cls, data: Mapping[str, Any]) -> CandidateSettings:
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown candidate setting(s): {', '.join(unknown)}",
                hint=f"known settings: {', '.join(sorted(known))}",
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"bad candidate settings: {exc}") from exc


def _coerce(name: str, type_name: str, raw: str) -> Any:
    """Turn an environment string into the field's type (the annotation is a string here)."""
    try:
        if type_name == "bool":
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if type_name == "int":
            return int(raw)
        if type_name in ("float", "float | None"):
            return float(raw) if raw else None
    except ValueError as exc:
        raise ConfigError(f"not a number: {raw!r}", path=ENV_PREFIX + name.upper()) from exc
    if type_name.startswith("str | None"):
        return raw or None
    return raw
