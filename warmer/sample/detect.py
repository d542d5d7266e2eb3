"""Pick the log format of an input: by name, or by probing its first lines.

Auto-detection looks at the first 64 KiB (decompressed): a JSON document with
``log.entries`` is HAR, other JSON is JSON lines; otherwise up to 1000 complete lines are
matched against each line format and the one matching most wins (ties go to the more
specific: combined with timing before combined before common). A first line of
comma-separated names is CSV. The choice is reported, e.g. ``auto-detected nginx
combined (matched 998/1000 probe lines)``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo

from warmer.errors import InputError, UsageError
from warmer.sample.formats._records import parse_mapping
from warmer.sample.formats.alb import PATTERN as ALB_PATTERN
from warmer.sample.formats.alb import AlbFormat
from warmer.sample.formats.csvfile import CsvFormat
from warmer.sample.formats.har import HarFormat
from warmer.sample.formats.interface import LogFormat
from warmer.sample.formats.jsonl import JsonLinesFormat
from warmer.sample.formats.nginx import (
    COMBINED,
    COMBINED_TIMING,
    COMMON,
    NginxFormat,
    compile_log_format,
)

FORMATS = ("auto", "combined", "common", "nginx", "json", "har", "alb", "csv")
"""Names accepted by ``--format``."""
PROBE_LINES = 1000
_CSV_HEADER = re.compile(r"^[\w@.\- \"]+(,[\w@.\- \"]+)+$")


@dataclass(frozen=True)
class Detection:
    """The format chosen for one input and how (for the summary)."""

    format: LogFormat
    message: str


def make_format(
    name: str, log_format: str | None, fields: Mapping[str, str], tz: tzinfo | None = None
) -> LogFormat:
    """The format called ``name`` (not ``auto``); ``tz`` reads zone-less JSON/CSV stamps."""
    mapping = parse_mapping(fields)
    if name == "nginx":
        if not log_format:
            raise UsageError(
                "--format nginx needs --log-format",
                hint="pass the log_format string from nginx.conf",
            )
        compile_log_format(log_format)
        return NginxFormat(f"nginx log_format '{log_format}'", log_format)
    formats: dict[str, LogFormat] = {
        "combined": NginxFormat("nginx/Apache combined", COMBINED),
        "common": NginxFormat("Apache common", COMMON),
        "json": JsonLinesFormat(mapping, tz=tz),
        "har": HarFormat(),
        "alb": AlbFormat(),
        "csv": CsvFormat(mapping, tz=tz),
    }
    if name not in formats:
        raise UsageError(f"unknown format {name!r}", hint=f"choose one of {', '.join(FORMATS)}")
    return formats[name]


def choose_format(
    head: bytes,
    name: str,
    log_format: str | None,
    fields: Mapping[str, str],
    tz: tzinfo | None = None,
) -> Detection:
    """The format for an input whose first bytes are ``head``."""
    if name == "auto" and log_format:
        name = "nginx"
    if name != "auto":
        fmt = make_format(name, log_format, fields, tz)
        return Detection(fmt, f"format {fmt.name} (as requested)")
    return detect(head, fields, tz)


def detect(
    head: bytes, fields: Mapping[str, str] | None = None, tz: tzinfo | None = None
) -> Detection:
    """Probe ``head``; raises :class:`InputError` when no format fits."""
    fields = fields or {}
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        return Detection(NginxFormat("nginx/Apache combined", COMBINED), "empty input")
    if text.startswith("{") or text.startswith("["):
        if re.match(r'^\{\s*"log"\s*:', text) and '"entries"' in text:
            return Detection(HarFormat(), "auto-detected HAR 1.2 (log.entries)")
        if text.startswith("{"):
            return Detection(
                JsonLinesFormat(parse_mapping(fields), tz=tz), "auto-detected JSON lines"
            )
    lines = text.split("\n")
    lines = [ln.rstrip("\r") for ln in (lines[:-1] if len(lines) > 1 else lines) if ln.strip()]
    lines = lines[:PROBE_LINES]
    if lines and _CSV_HEADER.match(lines[0]) and len(next(csv.reader([lines[0]]))) >= 3:
        return Detection(CsvFormat(parse_mapping(fields), tz=tz), "auto-detected CSV (header row)")
    return _best_line_format(lines)


def _best_line_format(lines: list[str]) -> Detection:
    candidates: list[tuple[LogFormat, re.Pattern[str]]] = [
        (
            NginxFormat("nginx combined + $request_time $upstream_cache_status", COMBINED_TIMING),
            compile_log_format(COMBINED_TIMING).python,
        ),
        (NginxFormat("nginx/Apache combined", COMBINED), compile_log_format(COMBINED).python),
        (NginxFormat("Apache common", COMMON), compile_log_format(COMMON).python),
        (AlbFormat(), re.compile(ALB_PATTERN)),
    ]
    scores = [sum(1 for ln in lines if pattern.match(ln)) for _, pattern in candidates]
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    if scores[best] == 0:
        raise InputError(
            "cannot tell the log format: no probe line matches combined, common, ALB, "
            "JSON, HAR or CSV",
            hint="pass --format, or --log-format with the log_format string from nginx.conf",
        )
    fmt = candidates[best][0]
    return Detection(
        fmt, f"auto-detected {fmt.name} (matched {scores[best]}/{len(lines)} probe lines)"
    )
