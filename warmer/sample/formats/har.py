"""HAR 1.2 (HTTP Archive): ``log.entries[]`` with request, response, time and timings.

The whole document is one JSON value, so it is read at once (HAR files are produced by
browsers and proxies and stay small); "line" numbers in the summary are entry numbers.
``postData.text`` becomes the base64 body, ``postData.mimeType`` the content type.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from warmer.errors import InputError
from warmer.sample.formats._records import build_row, collect, rows_to_table
from warmer.sample.formats.interface import ParsedBlock, Rejects

_MAPPING = {
    "ts": "startedDateTime",
    "method": "request.method",
    "target": "request.url",
    "status": "response.status",
    "duration_ms": "time",
    "headers": "request.headers",
}


@dataclass(frozen=True)
class HarFormat:
    """HTTP Archive 1.2."""

    name: str = "HAR 1.2"

    def parse(self, stream: BinaryIO) -> Iterator[ParsedBlock]:
        entries = _entries(stream.read(), getattr(stream, "name", "<input>"))
        rows: list[dict[str, Any]] = []
        rejects = Rejects()
        for number, entry in enumerate(entries, start=1):
            collect(rows, rejects, number, _row(entry, number))
        yield ParsedBlock(rows_to_table(rows), rejects, len(entries))


def _entries(data: bytes, name: str) -> list[Any]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(
            f"{name}: not a valid HAR (JSON) document: {exc}",
            hint="check the file is complete, or pass --format",
        ) from exc
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise InputError(f"{name}: no log.entries in this HAR document", hint="pass --format")
    return entries


def _row(entry: Any, number: int) -> dict[str, Any] | str:
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        return "HAR entry without a request"
    # HAR 1.2 types: a number where a date should be is a malformed entry, never a time.
    if not isinstance(entry.get("startedDateTime"), str):
        return "startedDateTime is not an ISO 8601 string"
    request = entry["request"]
    if not isinstance(request.get("method"), str) or not isinstance(request.get("url"), str):
        return "request.method or request.url is not a string"
    if not isinstance(request.get("headers", []), list):
        return "request.headers is not a list"
    row = build_row(lambda path: _get(entry, path), _MAPPING, number)
    if isinstance(row, str):
        return row
    raw_response = entry.get("response")
    response: Mapping[str, Any] = raw_response if isinstance(raw_response, Mapping) else {}
    row["response_bytes"] = _size(response)
    row["cache_status"] = _response_header(response, ("x-cache-status", "x-cache"))
    post = entry["request"].get("postData")
    if isinstance(post, Mapping) and isinstance(post.get("text"), str):
        row["body"] = base64.b64encode(post["text"].encode()).decode()
        if isinstance(post.get("mimeType"), str):
            row["headers"] = [*row["headers"], ("content-type", post["mimeType"])]
    row["headers"] = [(k, v) for k, v in row["headers"] if k != "host"]
    return row


def _get(entry: Mapping[str, Any], path: str) -> Any:
    value: Any = entry
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _size(response: Mapping[str, Any]) -> int | None:
    for value in (response.get("bodySize"), (response.get("content") or {}).get("size")):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _response_header(response: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for item in response.get("headers") or ():
        if isinstance(item, Mapping) and str(item.get("name", "")).lower() in names:
            return str(item.get("value"))
    return None
