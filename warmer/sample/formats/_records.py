"""Build raw sample rows from already-decoded records (JSON objects, CSV rows, HAR entries).

Used by the formats that parse record by record in Python; the field mapping says where
each sample field comes from (``ts=time``, ``target=request.uri``: dotted paths).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import pyarrow as pa

from warmer.errors import UsageError
from warmer.model.sample import ts_in_range
from warmer.sample.formats._fields import parse_iso8601
from warmer.sample.formats.interface import RAW_SCHEMA, Rejects

FIELD_NAMES = (
    "ts",
    "method",
    "target",
    "request",
    "status",
    "response_bytes",
    "duration_ms",
    "duration_s",
    "cache_status",
    "client",
    "host",
    "scheme",
    "headers",
    "body",
)
"""Sample fields a mapping may name; ``header.<name>`` maps one request header."""

DEFAULT_SOURCES: dict[str, tuple[str, ...]] = {
    "ts": (
        "ts",
        "time",
        "timestamp",
        "@timestamp",
        "time_iso8601",
        "time_local",
        "msec",
        "start_time",
        "startedDateTime",
    ),
    "method": ("method", "request_method", "request.method", "httpMethod"),
    "target": ("target", "request_uri", "uri", "path", "request.uri", "url", "request.url"),
    "request": ("request",),
    "status": ("status", "status_code", "response_code", "response.status"),
    "response_bytes": ("response_bytes", "body_bytes_sent", "bytes_sent", "size", "bytes"),
    "duration_ms": ("duration_ms",),
    "duration_s": ("request_time", "duration"),
    "cache_status": ("cache_status", "upstream_cache_status"),
    "client": (
        "client",
        "remote_addr",
        "client_ip",
        "request.remote_ip",
        "request.client_ip",
        "downstream_remote_address",
    ),
    "host": ("host", "http_host", "request.host", "authority"),
    "scheme": ("scheme", "request.proto_scheme"),
    "headers": ("headers", "request.headers"),
    "body": ("body",),
}
"""Where a field is looked for when the mapping does not say: nginx ``escape=json``
logs, Caddy's access log (``request.*``, ``duration`` in seconds), Envoy, warmer samples."""

_HEADER_FIELDS = {
    "http_user_agent": "user-agent",
    "http_referer": "referer",
    "user_agent": "user-agent",
    "referer": "referer",
}

Getter = Callable[[str], Any]


def parse_mapping(pairs: Mapping[str, str]) -> dict[str, str]:
    """Validate a ``--field NAME=SRC`` mapping; raises :class:`UsageError` for unknown names."""
    for name in pairs:
        if name not in FIELD_NAMES and not name.startswith("header."):
            raise UsageError(
                f"unknown field {name!r} in --field",
                hint=f"known: {', '.join(FIELD_NAMES)}, header.<name>",
            )
    return dict(pairs)


def dotted(record: Mapping[str, Any]) -> Getter:
    """A getter for ``a.b.c`` paths into nested mappings (exact key first)."""

    def get(path: str) -> Any:
        if path in record:
            return record[path]
        value: Any = record
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return value

    return get


def build_row(
    get: Getter, mapping: Mapping[str, str], line: int, tz: tzinfo | None = None
) -> dict[str, Any] | str:
    """A raw row, or the reason the record is malformed (zone-less stamps are in ``tz``)."""

    def pick(name: str) -> Any:
        if name in mapping:
            return get(mapping[name])
        for source in DEFAULT_SOURCES.get(name, ()):
            value = get(source)
            if value not in (None, "", "-"):
                return value
        return None

    ts = to_epoch(pick("ts"), tz)
    if ts is None:
        return "bad or missing timestamp"
    method, target = pick("method"), pick("target")
    request = pick("request")
    if (method is None or target is None) and isinstance(request, str):
        parts = request.split(" ")
        if 2 <= len(parts) <= 3:
            method, target = parts[0], parts[1]
    if not isinstance(method, str) or not isinstance(target, str) or not target:
        return "bad or missing request line"
    target, host, scheme = _split_url(target)
    status, headers = pick("status"), pick("headers")
    if status not in (None, "", "-") and _status(status) is None:
        return "bad status"
    if headers is not None and not isinstance(headers, Mapping | list):
        return "headers is not an object"
    if isinstance(headers, Mapping) and any(isinstance(v, Mapping) for v in headers.values()):
        return "a header value is an object"
    body = pick("body")
    if body is not None and not isinstance(body, str):
        return "body is not a string"
    return {
        "ts": ts,
        "method": method,
        "target": target,
        "scheme": _text(pick("scheme")) or scheme,
        "host": _text(pick("host")) or host,
        "headers": _headers(headers, get, mapping),
        "body": _text(body),
        "status": _status(status),
        "response_bytes": _int(pick("response_bytes")),
        "duration_ms": _duration(pick("duration_ms"), pick("duration_s")),
        "cache_status": _text(pick("cache_status")),
        "client": _client(pick("client")),
        "line": line,
    }


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Raw rows to an Arrow table in ``RAW_SCHEMA``."""
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


def collect(
    rows: list[dict[str, Any]], rejects: Rejects, line: int, row: dict[str, Any] | str
) -> None:
    """Append ``row`` or count its reason."""
    if isinstance(row, str):
        rejects.add(line, row)
    else:
        rows.append(row)


def to_epoch(value: Any, tz: tzinfo | None = None) -> float | None:
    """Epoch seconds from a number (s, or ms when > 1e11) or a timestamp string.

    A string without a zone is read in ``tz`` (UTC when None).
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value) if abs(value) < 1e300 else math.inf
        if not math.isfinite(number):
            return None
        seconds = number / 1000.0 if number > 1e11 else number
        return seconds if ts_in_range(seconds) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return to_epoch(float(text))
    except ValueError:
        pass
    if "/" in text:
        try:
            stamp = datetime.strptime(text.strip("[]"), "%d/%b/%Y:%H:%M:%S %z").timestamp()
        except ValueError:
            return None
        return stamp if ts_in_range(stamp) else None
    parsed = parse_iso8601(text.replace("Z", "+00:00") if text.endswith("Z") else text, tz)
    return parsed if parsed is not None and ts_in_range(parsed) else None


def parse_tz(text: str) -> tzinfo:
    """A zone for zone-less timestamps: ``UTC``, ``+01:00`` / ``-0530``, or an IANA name."""
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text.strip())
    if match:
        sign = -1 if match.group(1) == "-" else 1
        delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return timezone(sign * delta)
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(text.strip())
    except (ValueError, KeyError, OSError) as exc:
        raise UsageError(
            f"unknown time zone {text!r}", hint="use +01:00, UTC or a name like Europe/Paris"
        ) from exc


def _split_url(target: str) -> tuple[str, str | None, str | None]:
    if "://" not in target[:12]:
        return target, None, None
    scheme, _, rest = target.partition("://")
    host, slash, path = rest.partition("/")
    return (slash + path) or "/", host or None, scheme.lower()


def _headers(value: Any, get: Getter, mapping: Mapping[str, str]) -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    if isinstance(value, Mapping):
        for name, v in value.items():
            text = ", ".join(map(str, v)) if isinstance(v, list) else _text(v)
            if text is not None:
                out[str(name).lower()] = text
    elif isinstance(value, list):  # HAR style [{"name":..., "value":...}]
        for item in value:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                out[item["name"].lower()] = str(item.get("value", ""))
    for source, name in _HEADER_FIELDS.items():
        text = _text(get(source))
        if text is not None and name not in out:
            out[name] = text
    for field, source in mapping.items():
        if field.startswith("header."):
            text = _text(get(source))
            if text is not None:
                out[field[7:].lower()] = text
    return list(out.items())


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    text = str(value)
    return None if text in ("", "-") else text


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -(1 << 62) < number < (1 << 62) else None


def _status(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and 0 <= number < 1000 else None


def _duration(ms: Any, seconds: Any) -> float | None:
    for value, scale in ((ms, 1.0), (seconds, 1000.0)):
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int) and scale != 1.0:
            scale = 1.0  # Envoy writes whole milliseconds; Caddy and nginx seconds as floats
        try:
            number = float(value) * scale
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            return round(number, 6)
    return None


def _client(value: Any) -> str | None:
    text = _text(value)
    if text and text.count(":") == 1:  # ip:port (Envoy, ALB); IPv6 has several colons
        return text.split(":", 1)[0]
    return text
