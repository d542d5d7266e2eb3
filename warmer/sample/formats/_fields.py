"""Turn columns of nginx-style variables (strings) into raw sample rows, vectorised.

Formats that tokenise a line (combined, common, any ``log_format``, ALB) produce one
string column per variable; this module maps the known variables onto the sample's
columns with Arrow compute kernels and says which rows are malformed and why.

Variables understood (others are parsed and ignored)::

    time_local | time_iso8601 | msec          -> ts
    request ("METHOD TARGET [PROTOCOL]")       -> method, target
    request_method, request_uri | uri [+ args] -> method, target
    status, body_bytes_sent | bytes_sent       -> status, response_bytes
    request_time (seconds)                     -> duration_ms
    upstream_cache_status                      -> cache_status
    remote_addr                                -> client (hashed later)
    host | http_host | server_name, scheme     -> host, scheme
    http_<name>                                -> headers[<name with - for _>]
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warmer.model.sample import TS_MAX
from warmer.sample.formats.interface import RAW_SCHEMA, Rejects

Columns = dict[str, pa.Array]

REASON_NO_MATCH = "does not match the format"
REASON_TIME = "bad or missing timestamp"
REASON_REQUEST = "bad or missing request line"
REASON_STATUS = "bad status"

_NOT_HEADERS = frozenset({"http_host"})


USED = frozenset(
    {
        "time_local", "time_iso8601", "msec", "request", "request_method", "request_uri",
        "uri", "args", "status", "body_bytes_sent", "bytes_sent", "request_time",
        "upstream_cache_status", "remote_addr", "host", "http_host", "server_name", "scheme",
    }
)  # fmt: skip
"""Variables :func:`build_raw` reads, besides ``http_*`` request headers."""


def is_header(variable: str) -> bool:
    """Whether ``$variable`` is a request header that goes into the ``headers`` map."""
    return variable.startswith("http_") and variable not in _NOT_HEADERS


def header_name(variable: str) -> str:
    """``http_user_agent`` -> ``user-agent``."""
    return variable[5:].replace("_", "-")


def build_raw(
    cols: Columns,
    lines: np.ndarray,
    rejected: dict[int, str],
    *,
    request: tuple[pa.Array, pa.Array] | None = None,
    headers: pa.Array | None = None,
) -> tuple[pa.Table, Rejects]:
    """Raw rows for the accepted lines, and the rejects (``rejected`` holds earlier ones).

    ``lines`` gives the absolute line number of each row of ``cols``. ``request`` (method,
    target) and ``headers`` (the map) replace ``$request`` and the ``$http_*`` columns when
    a tokenizer already derived them.
    """
    n = len(lines)
    ts = _in_range(_timestamps(cols, n))
    method, target = request or _request(cols, n)
    target = _unescape_target(target)
    headers = _unescape_values(headers if headers is not None else header_map(cols, n))
    status = _to_int(cols.get("status"), n, pa.int32())
    masks = [
        (REASON_TIME, pc.is_null(ts)),
        (REASON_REQUEST, pc.or_(pc.is_null(method), pc.is_null(target))),
        (REASON_STATUS, _failed(cols.get("status"), status)),
    ]
    table = pa.table(
        {
            "ts": ts,
            "method": method,
            "target": target,
            "scheme": _dash_null(cols.get("scheme"), n),
            "host": _host(cols, n),
            "headers": headers,
            "body": pa.nulls(n, pa.string()),
            "status": status,
            "response_bytes": _to_int(cols.get("body_bytes_sent", cols.get("bytes_sent")), n),
            "duration_ms": _duration(cols.get("request_time"), n),
            "cache_status": _dash_null(cols.get("upstream_cache_status"), n),
            "client": _dash_null(cols.get("remote_addr"), n),
            "line": pa.array(lines, pa.int64()),
        },
        schema=RAW_SCHEMA,
    )
    return filter_rejected(table, masks, rejected)


def filter_rejected(
    table: pa.Table, masks: list[tuple[str, pa.Array]], rejected: dict[int, str]
) -> tuple[pa.Table, Rejects]:
    """Drop rows flagged by ``masks`` (first reason wins) or listed in ``rejected``.

    ``rejected`` may also name lines that have no row in ``table``; all are counted.
    """
    lines = table.column("line").to_numpy()
    seen = np.zeros(len(lines), dtype=bool)
    if rejected:
        seen = np.isin(lines, np.fromiter(rejected, dtype=np.int64, count=len(rejected)))
    out = Rejects()
    for reason in rejected.values():
        out.by_reason[reason] = out.by_reason.get(reason, 0) + 1
    first = sorted(rejected.items())[:5]
    for reason, mask in masks:
        hit = np.asarray(pc.fill_null(mask, True).to_numpy(zero_copy_only=False), dtype=bool)
        new = hit & ~seen
        count = int(np.count_nonzero(new))
        if count:
            out.by_reason[reason] = out.by_reason.get(reason, 0) + count
            first.extend((int(lines[i]), reason) for i in np.flatnonzero(new)[:5])
        seen |= hit
    out.count = sum(out.by_reason.values())
    out.first = sorted(first)[:5]
    keep = ~seen
    return (table if keep.all() else table.filter(pa.array(keep))), out


def _timestamps(cols: Columns, n: int) -> pa.Array:
    if "time_local" in cols:
        # Many requests share a second: parse each distinct stamp once.
        encoded = pc.dictionary_encode(cols["time_local"])
        stamp = pc.strptime(
            encoded.dictionary, format="%d/%b/%Y:%H:%M:%S %z", unit="s", error_is_null=True
        )
        seconds = pc.cast(pc.cast(stamp, pa.int64()), pa.float64())
        return pc.take(seconds, encoded.indices)
    if "msec" in cols:
        return pc.cast(_numeric(cols["msec"]), pa.float64())
    if "time_iso8601" in cols:
        return iso_timestamps(cols["time_iso8601"])
    return pa.nulls(n, pa.float64())


def _has_backslash(values: pa.Array) -> bool:
    return len(values) > 0 and bool(pc.any(pc.match_substring(values, "\\")).as_py())


def _unescape_target(target: pa.Array) -> pa.Array:
    """Apache's ``\\"`` and ``\\\\`` in a logged request line, as the ``\\xHH`` escapes
    nginx writes for the same bytes, which the importer decodes with the others (one pass,
    so ``\\\\x41`` stays a backslash followed by ``x41``)."""
    if not _has_backslash(target):
        return target
    target = pc.replace_substring(target, "\\\\", "\\x5C")
    return pc.replace_substring(target, '\\"', "\\x22")


def _unescape_values(headers: pa.Array) -> pa.Array:
    """Header values with Apache's ``\\"`` and ``\\\\`` escapes undone (nginx writes
    ``\\x22`` and ``\\x5C`` instead, so no nginx value holds either)."""
    items = headers.items
    if not _has_backslash(items):
        return headers
    if headers.offset:
        headers = pa.concat_arrays([headers])  # .items ignores a slice's offset
        items = headers.items
    items = pc.replace_substring_regex(items, r'\\(["\\])', r"\1")
    return pa.MapArray.from_arrays(
        headers.offsets,
        headers.keys,
        items,
        mask=headers.is_null(),
    )


def _in_range(ts: pa.Array) -> pa.Array:
    """``ts`` with stamps before 1970, after 9999 or NaN made null (malformed rows)."""
    ok = pc.and_(pc.greater_equal(ts, 0.0), pc.less(ts, TS_MAX))  # NaN compares false
    return pc.if_else(pc.fill_null(ok, False), ts, pa.scalar(None, pa.float64()))


def iso_timestamps(values: pa.Array) -> pa.Array:
    """ISO 8601 strings (``Z`` or offset, optional fraction) to epoch seconds; bad -> null."""
    encoded = pc.dictionary_encode(values)
    parsed = [parse_iso8601(v) for v in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(parsed, pa.float64()), encoded.indices)


def parse_iso8601(text: str | None, tz: tzinfo | None = None) -> float | None:
    """Epoch seconds of an ISO 8601 timestamp; a zone-less stamp is in ``tz`` (default UTC)."""
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=tz or UTC).timestamp()
    return stamp.timestamp()


def _request(cols: Columns, n: int) -> tuple[pa.Array, pa.Array]:
    if "request" in cols:
        return split_request(cols["request"])
    method = _dash_null(cols.get("request_method"), n)
    if "request_uri" in cols:
        return method, _dash_null(cols["request_uri"], n)
    if "uri" in cols:
        uri = _dash_null(cols["uri"], n)
        args = _dash_null(cols.get("args"), n)
        joined = pc.binary_join_element_wise(uri, pc.fill_null(args, ""), "?")
        return method, pc.if_else(pc.is_null(args), uri, joined)
    return method, pa.nulls(n, pa.string())


def split_request(request: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``METHOD SP TARGET [SP PROTOCOL]`` -> method, target; anything else -> nulls."""
    parts = pc.split_pattern(request, " ", max_splits=3)  # a 4th part: not a request line
    count = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    offsets = parts.offsets.to_numpy()[:-1]
    flat = parts.flatten()
    ok = (count >= 2) & (count <= 3)
    if len(flat) == 0:
        nulls = pa.nulls(len(request), pa.string())
        return nulls, nulls
    first = np.where(ok, offsets, 0)
    second = np.where(ok, offsets + 1, 0)
    mask = pa.array(~ok)
    method = pc.if_else(mask, pa.scalar(None, pa.string()), pc.take(flat, pa.array(first)))
    target = pc.if_else(mask, pa.scalar(None, pa.string()), pc.take(flat, pa.array(second)))
    good_method = pc.ascii_is_alpha(method)  # ^[A-Za-z]+$, without a regex per row
    method = pc.if_else(pc.fill_null(good_method, False), method, pa.scalar(None, pa.string()))
    empty = pc.equal(pc.utf8_length(target), 0)
    target = pc.if_else(pc.fill_null(empty, True), pa.scalar(None, pa.string()), target)
    return pc.ascii_upper(method), target  # ASCII letters only, checked above


def header_map(cols: Columns, n: int) -> pa.Array:
    """The ``headers`` map of ``n`` rows from the ``$http_*`` columns (absent: ``-``, "")."""
    names = [k for k in cols if is_header(k)]
    offsets = np.zeros(n + 1, np.int32)
    if not names:
        empty = pa.array([], pa.string())
        return pa.MapArray.from_arrays(pa.array(offsets), empty, empty)
    values = [cols[k] for k in names]
    valid = np.stack([_present(v) for v in values], axis=1)
    rows, which = np.nonzero(valid)  # row-major: each row's headers stay together
    # One take across the columns (chunked, so nothing is concatenated first).
    items = pc.take(pa.chunked_array(values, pa.string()), pa.array(which * n + rows))
    keys = pc.take(pa.array([header_name(k) for k in names]), pa.array(which))
    np.cumsum(valid.sum(axis=1), out=offsets[1:])
    return pa.MapArray.from_arrays(pa.array(offsets), keys, items.combine_chunks())


def _present(values: pa.Array) -> np.ndarray:
    """Rows where a header column holds a value (nginx writes ``-`` for none)."""
    present = pc.and_(pc.not_equal(values, "-"), pc.not_equal(values, ""))
    return np.asarray(pc.fill_null(present, False).to_numpy(zero_copy_only=False), dtype=bool)


def _host(cols: Columns, n: int) -> pa.Array:
    for name in ("host", "http_host", "server_name"):
        if name in cols:
            return _dash_null(cols[name], n)
    return pa.nulls(n, pa.string())


def _dash_null(values: pa.Array | None, n: int) -> pa.Array:
    """The column with ``-`` and empty strings as null (nginx writes ``-`` for none)."""
    if values is None:
        return pa.nulls(n, pa.string())
    empty = pc.or_(pc.equal(values, "-"), pc.equal(values, ""))
    return pc.if_else(empty, pa.scalar(None, pa.string()), values)


def _numeric(values: pa.Array) -> pa.Array:
    """Decimal strings to float64; anything else (``-``, garbage) to null."""
    ok = pc.match_substring_regex(values, r"^-?[0-9]+(\.[0-9]+)?$")
    cleaned = pc.if_else(ok, values, pa.scalar(None, pa.string()))
    return pc.cast(cleaned, pa.float64())


def _to_int(values: pa.Array | None, n: int, kind: pa.DataType | None = None) -> pa.Array:
    kind = kind or pa.int64()
    if values is None:
        return pa.nulls(n, kind)
    ok = pc.and_(pc.utf8_is_digit(values), pc.less_equal(pc.utf8_length(values), 15))
    cleaned = pc.if_else(ok, values, pa.scalar(None, pa.string()))
    return pc.cast(pc.cast(cleaned, pa.int64()), kind, safe=False)


def _failed(raw: pa.Array | None, parsed: pa.Array) -> pa.Array:
    """Rows where ``raw`` held something that is neither ``-`` nor a number."""
    if raw is None:
        return pa.array(np.zeros(len(parsed), dtype=bool))
    present = pc.invert(pc.or_(pc.equal(raw, "-"), pc.equal(raw, "")))
    return pc.and_(present, pc.is_null(parsed))


def _duration(values: pa.Array | None, n: int) -> pa.Array:
    if values is None:
        return pa.nulls(n, pa.float64())
    # Multiply in milliseconds and round so 0.065 s is 65.0 ms, not 65.00000000000001.
    return pc.round(pc.multiply(_numeric(values), 1000.0), 6)
