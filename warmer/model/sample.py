"""The canonical traffic sample: one record per request, the same in JSONL and Parquet.

The schema is versioned (``SAMPLE_SCHEMA_VERSION``) and documented in
``docs/sample-schema.md``; readers refuse a newer major version with a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

SAMPLE_SCHEMA_VERSION = 1

TS_MAX = 253_402_300_800.0
"""Timestamps are seconds in ``[0, TS_MAX)``: from the epoch to the end of year 9999 (the
last second a date can be printed for); anything else (1e308, NaN) is malformed."""


def ts_in_range(ts: float) -> bool:
    """Whether ``ts`` is a timestamp a sample may hold (NaN is not)."""
    return 0.0 <= ts < TS_MAX


SAMPLE_ARROW_SCHEMA = pa.schema(
    [
        pa.field("ts", pa.float64(), nullable=False),  # seconds since the epoch, UTC
        pa.field("method", pa.string(), nullable=False),
        pa.field("target", pa.string(), nullable=False),  # path and query, as sent
        pa.field("key", pa.string(), nullable=False),  # cache key (see KeyConfig)
        pa.field("scheme", pa.string()),  # recorded only; never decides where traffic goes
        pa.field("host", pa.string()),  # recorded only
        pa.field("headers", pa.map_(pa.string(), pa.string())),  # lower-case names, scrubbed
        pa.field("body", pa.string()),  # base64
        pa.field("status", pa.int32()),
        pa.field("response_bytes", pa.int64()),
        pa.field("duration_ms", pa.float64()),
        pa.field("cache_status", pa.string()),  # production cache status (HIT, MISS ...)
        pa.field("client", pa.string()),  # hashed client id, never the raw address
    ]
)
"""Column layout of a sample. Optional columns are null where the source lacked them."""


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """One recorded request, as the replay stage streams it."""

    ts: float
    method: str
    target: str
    key: str
    scheme: str | None = None
    host: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    status: int | None = None
    response_bytes: int | None = None
    duration_ms: float | None = None
    cache_status: str | None = None
    client: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SampleRecord:
        """Build from a JSONL object or an Arrow row (``headers`` as dict or list of pairs)."""
        headers = row.get("headers") or {}
        if not isinstance(headers, dict):
            headers = dict(headers)
        return cls(
            ts=float(row["ts"]),
            method=row["method"],
            target=row["target"],
            key=row["key"],
            scheme=row.get("scheme"),
            host=row.get("host"),
            headers=headers,
            body=row.get("body"),
            status=row.get("status"),
            response_bytes=row.get("response_bytes"),
            duration_ms=row.get("duration_ms"),
            cache_status=row.get("cache_status"),
            client=row.get("client"),
        )


@dataclass(frozen=True)
class SampleMeta:
    """What the sample file says about itself (JSONL header line / Parquet metadata)."""

    schema_version: int = SAMPLE_SCHEMA_VERSION
    created: str = ""
    """ISO 8601 time of import."""
    sources: tuple[dict[str, Any], ...] = ()
    """One entry per input: path, detected format, lines, records, malformed."""
    requests: int = 0
    scrubbed: dict[str, int] = field(default_factory=dict)
    """How often each header / query parameter was scrubbed, e.g. ``{"header:cookie": 12}``."""
    sample_rate: float = 1.0
    """Share of cache keys kept by key-hash downsampling (1.0 = all)."""
    key_config: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    """Time window and method filter applied on import."""
