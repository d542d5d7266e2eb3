"""The replay results file: one row per request sent, streamed to Parquet.

Written by the replay stage, read by observe (header-based tiers) and the gate. Times are
seconds relative to the start of the replay (``started_at`` in the file metadata is the
wall-clock epoch of that zero), so runs compare without clock arithmetic.
"""

from __future__ import annotations

import pyarrow as pa

RESULTS_SCHEMA_VERSION = 1

RESULTS_ARROW_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),  # order in which requests were scheduled
        pa.field("phase", pa.string()),  # "warm", "verify" or null for a plain replay
        pa.field("method", pa.string(), nullable=False),
        pa.field("target", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("scheduled_s", pa.float64()),  # null under closed-model pacing (max)
        pa.field("sent_s", pa.float64(), nullable=False),
        pa.field("latency_ms", pa.float64()),  # from the actual send; null on error
        pa.field("latency_from_schedule_ms", pa.float64()),  # from the scheduled send time
        pa.field("status", pa.int32()),  # null when no response arrived
        pa.field("response_bytes", pa.int64()),
        pa.field("error", pa.string()),  # refused, reset, timeout, tls, protocol, other
        pa.field("cache_status", pa.string()),  # raw response headers, parsed by observe
        pa.field("x_cache", pa.string()),
        pa.field("x_cache_status", pa.string()),
        pa.field("age", pa.string()),
    ]
)
"""Column layout of a results file."""

ERROR_KINDS = ("refused", "reset", "timeout", "tls", "protocol", "other")
"""Values of the ``error`` column."""
