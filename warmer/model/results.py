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
and an ``error`` kind. ``recorded_s`` is the sample row's recorded time (its ``ts``, epoch
seconds), so the observe stage can replay the run's cache outcomes at the recorded pace.
``body_digest`` is the CRC-32 of the body as received (null without a body or response):
two responses of one key with different digests carried different content. ``target``
is the request target exactly as sent (the target URL's prefix added, percent-encoded by
``warmer/replay/wire.py``), ``key`` the sample's cache key.

The header columns hold the raw response header values (``RESPONSE_HEADERS``; a list
header sent on several lines is joined with ``", "`` as RFC 9110 §5.3 allows, of a
``SINGLE_VALUED`` one the first line is kept), parsed by observe;
``headers`` holds any other response header a configured tier names (``x-served-by``,
``cf-cache-status`` ...), null when none was asked for or sent. Redirects are never
followed: a 3xx is recorded as it came.

Version history: 1 had the four cache headers only; 2 added ``recorded_s``,
``body_digest``, the freshness headers and ``headers``. Readers fill the columns an older
file lacks with nulls (``warmer.replay.results.ResultsFile.to_table``).
"""

from __future__ import annotations

import zlib

import pyarrow as pa

RESULTS_SCHEMA_VERSION = 2


def body_digest(body: bytes) -> int | None:
    """The ``body_digest`` of a response body: its CRC-32, None without a body.

    (The fast engine computes the same value incrementally, chunk by chunk.)"""
    return zlib.crc32(body) if body else None


RESPONSE_HEADERS: tuple[str, ...] = (
    "cache-status",
    "x-cache",
    "x-cache-status",
    "age",
    "cache-control",
    "expires",
    "date",
    "etag",
    "last-modified",
)
"""Response headers every engine records, each in its own column (``header_column``)."""


SINGLE_VALUED: frozenset[str] = frozenset(
    {"age", "date", "etag", "expires", "last-modified", "x-cache-status"}
)
"""Headers that are not lists: sent twice, the first line is kept (RFC 9111 §4.2.1 allows
using the first ``Expires``); list-valued ones are comma-joined (RFC 9110 §5.3)."""


def header_column(name: str) -> str:
    """The results column of a recorded response header: ``Cache-Control`` → ``cache_control``."""
    return name.lower().replace("-", "_")


RESULTS_ARROW_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),  # schedule order over the whole file
        pa.field("phase", pa.string()),  # "warm", "verify" or null for a plain replay
        pa.field("method", pa.string(), nullable=False),
        pa.field("target", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("recorded_s", pa.float64()),  # the sample row's ts (epoch seconds)
        pa.field("scheduled_s", pa.float64()),  # null under closed-model pacing (max)
        pa.field("sent_s", pa.float64(), nullable=False),
        pa.field("latency_ms", pa.float64()),  # from the actual send; null on error
        pa.field("latency_from_schedule_ms", pa.float64()),  # from the scheduled send time
        pa.field("status", pa.int32()),  # null when no response arrived
        pa.field("response_bytes", pa.int64()),
        pa.field("body_digest", pa.int64()),  # CRC-32 of the body
        pa.field("error", pa.string()),  # refused, reset, timeout, tls, protocol, other
        *(pa.field(header_column(name), pa.string()) for name in RESPONSE_HEADERS),
        pa.field("headers", pa.map_(pa.string(), pa.string())),  # tier-named extra headers
    ]
)
"""Column layout of a results file."""

ERROR_KINDS = ("refused", "reset", "timeout", "tls", "protocol", "other")
"""Values of the ``error`` column: connection refused (or no such Unix socket); reset or
closed before the response completed; no complete response within the timeout; TLS
handshake or certificate failure; a response that is not valid HTTP/1.1; anything else."""
