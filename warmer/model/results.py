"""The replay results file: one row per request sent, streamed to Parquet.

Written by the replay stage (``warmer.replay.ResultsWriter``), read by observe
(header-based tiers) and the gate (``warmer.replay.open_results``). Times are seconds
relative to the writer's clock origin (``started_at`` in the file metadata is the
wall-clock epoch of that zero), so phases written into one file share one time axis and
runs compare without clock arithmetic.

File metadata (Parquet key-value entry ``warmer_results``, JSON): ``schema_version``,
``started_at``, whatever the writer was given (``sample``, ``target``, ``engine``) and
``runs``: one ``ReplaySummary.to_dict()`` per replay written into the file (a gate's
warm and verify phases), including HdrHistogram encodings that merge across processes.

Row semantics: ``seq`` is the order in which requests were scheduled, over the whole
file: a second replay into the same file (a gate's verify after its warm) numbers its
rows after the first's, so sorting by ``seq`` gives the run's send order across phases
(rows are stored in completion order). ``latency_ms`` runs from the actual send to the
last byte of the response; ``latency_from_schedule_ms`` from the scheduled send
(open-model pacing only), so queueing behind a slow target shows instead of being hidden
(coordinated omission). ``response_bytes`` counts the body (after chunked decoding). A
request that got no response has ``status``, ``latency_ms`` and ``response_bytes`` null
and an ``error`` kind. The cache columns are the raw response header values, parsed by
observe. Redirects are never followed: a 3xx is recorded as it came. ``target`` is the
request target exactly as sent (the target URL's prefix added, percent-encoded by
``warmer/replay/wire.py``), ``key`` the sample's cache key.
"""

from __future__ import annotations

import pyarrow as pa

RESULTS_SCHEMA_VERSION = 1

RESULTS_ARROW_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),  # schedule order over the whole file
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
"""Values of the ``error`` column: connection refused (or no such Unix socket); reset or
closed before the response completed; no complete response within the timeout; TLS
handshake or certificate failure; a response that is not valid HTTP/1.1; anything else."""
