"""``warmer sample import``: logs in, canonical sample out; the summary goes to stderr."""

from __future__ import annotations

import re
import time
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from warmer.cli._context import AppContext
from warmer.cli._types import bounded
from warmer.errors import UsageError
from warmer.model.text import printable

if TYPE_CHECKING:
    from warmer.sample.importer import ImportReport, SourceReport

_FORMATS = ("auto", "combined", "common", "nginx", "json", "har", "alb", "csv")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@click.command("import")
@click.argument("logs", nargs=-1, required=True, metavar="LOG...")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sample to write (.parquet, .jsonl, .jsonl.gz, .jsonl.zst).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="auto",
    show_default=True,
    help="Input format; auto probes the first lines and says what it chose.",
)
@click.option("--log-format", help="nginx log_format string, exactly as in nginx.conf.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=SRC",
    help="JSON/CSV mapping, e.g. ts=time, target=request.uri, header.accept=accept.",
)
@click.option("--strict", is_flag=True, help="Exit 2 at the first malformed line.")
@click.option("--no-scrub", is_flag=True, help="Keep secrets as recorded (you own the file).")
@click.option("--keep-header", multiple=True, metavar="NAME", help="Never scrub this header.")
@click.option("--scrub-header", multiple=True, metavar="NAME", help="Also drop this header.")
@click.option(
    "--scrub-param", multiple=True, metavar="NAME", help="Also scrub this parameter's value."
)
@click.option(
    "--keep-param", multiple=True, metavar="NAME", help="Never scrub this parameter's value."
)
@click.option(
    "--redact",
    is_flag=True,
    help="Write plain REDACTED instead of a pseudonym per value (merges their keys).",
)
@click.option(
    "--since", help="Keep requests from this time (ISO 8601, epoch, or e.g. 2h = 2 hours ago)."
)
@click.option("--until", help="Keep requests before this time (same forms as --since).")
@click.option(
    "--method", "methods", multiple=True, metavar="METHOD", help="Keep only these methods."
)
@click.option(
    "--sample-rate",
    type=bounded(0.0, 1.0, lo_open=True),
    default=1.0,
    show_default=True,
    help="Share of cache keys kept (every request of a kept key is kept).",
)
@click.option(
    "--tz",
    metavar="ZONE",
    help="Zone of JSON/CSV timestamps (and --since/--until) written without one [UTC].",
)
@click.option(
    "--seed",
    type=bounded(-(2**63), 2**63 - 1, integer=True),
    default=0,
    show_default=True,
    help="Seed of key-hash downsampling.",
)
@click.pass_obj
def import_command(app: AppContext, /, logs: tuple[str, ...], output: Path, **opts: Any) -> None:
    """Import access logs (LOG... or - for stdin) into a sample file.

    \b
    Formats: nginx/Apache combined and common, any nginx log_format, JSON
    lines, HAR 1.2, AWS ALB, CSV; gzip and zstd inputs are read directly.
    Several logs are merged in time order. Secrets are scrubbed by default:
    credential headers dropped, userinfo removed, credential parameter values
    (query, path, fragment, form and JSON bodies) replaced by a pseudonym that
    keeps distinct values distinct (--redact: by REDACTED).
    """
    from warmer.sample.importer import import_logs

    options = build_options(app, opts)
    report = import_logs(logs, output, options, on_source=_announce)
    click.echo(render_summary(report), err=True)
    click.echo(str(output))


def build_options(app: AppContext, opts: dict[str, Any]) -> Any:
    """Flags + ``[sample]`` config -> :class:`~warmer.sample.importer.ImportOptions`."""
    from warmer.sample.formats._records import parse_mapping, parse_tz
    from warmer.sample.importer import ImportOptions
    from warmer.sample.scrub import ScrubPolicy
    from warmer.sample.select import Selection

    config = app.config.sample
    tz = parse_tz(opts["tz"]) if opts["tz"] else None
    scrub = ScrubPolicy.build(
        (*config.scrub_headers, *opts["scrub_header"]),
        (*config.scrub_params, *opts["scrub_param"]),
        keep=opts["keep_header"],
        keep_params=(*config.keep_params, *opts["keep_param"]),
        enabled=not opts["no_scrub"],
        redact=opts["redact"] or config.redact,
    )
    selection = Selection(
        since=parse_time(opts["since"], "--since", tz=tz),
        until=parse_time(opts["until"], "--until", tz=tz),
        methods=tuple(m.upper() for m in opts["methods"]),
        sample_rate=opts["sample_rate"],
        seed=opts["seed"],
    )
    return ImportOptions(
        format=opts["fmt"],
        log_format=opts["log_format"],
        fields=parse_mapping(_pairs(opts["fields"])),
        strict=opts["strict"],
        tz=tz,
        scrub=scrub,
        selection=selection,
        key_config=config.key,
    )


def parse_time(
    text: str | None, flag: str, now: float | None = None, tz: tzinfo | None = None
) -> float | None:
    """ISO 8601 (UTC when no zone), epoch seconds, or ``<n>[smhd]`` before ``now``."""
    if text is None:
        return None
    from warmer.model.sample import ts_in_range
    from warmer.sample.formats._records import to_epoch

    match = _RELATIVE.match(text.strip())
    if match:
        ago = float(match.group(1)) * _UNITS[match.group(2)]
        value: float | None = (now if now is not None else time.time()) - ago
    else:
        value = to_epoch(text, tz)
    if value is None or not ts_in_range(value):
        raise UsageError(
            f"{flag}: cannot read {text!r} as a time between 1970 and 9999",
            hint="use ISO 8601 (2026-11-02T07:10:00Z), epoch seconds, or 2h",
        )
    return value


def _pairs(fields: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in fields:
        name, eq, source = item.partition("=")
        if not eq or not name or not source:
            raise UsageError(f"--field {item!r} is not NAME=SRC", hint="e.g. --field ts=time")
        out[name.strip()] = source.strip()
    return out


def _announce(source: SourceReport) -> None:
    click.echo(printable(f"{source.path}: {source.detection}"), err=True)


def render_summary(report: ImportReport) -> str:
    """The import summary (stderr): per input, scrubbing, selection, total."""
    lines = []
    for s in report.sources:
        unit = "entries" if s.format.startswith("HAR") else "lines"
        lines.append(
            f"{s.path}: {s.format}: {s.lines} {unit}, {s.records} records, "
            f"{s.rejects.count} malformed"
        )
        for line, reason in s.rejects.first:
            lines.append(f"  {unit[:-1] if unit == 'lines' else 'entry'} {line}: {reason}")
    if report.scrubbed:
        parts = ", ".join(f"{k} x{v}" for k, v in sorted(report.scrubbed.items()))
        lines.append(f"scrubbed: {parts}")
    else:
        lines.append("scrubbed: nothing")
    selection = _describe_selection(report)
    if selection:
        lines.append(f"selection: {selection}")
    lines.append(f"wrote {report.written} requests to {report.output}")
    # Scrubbed names and reasons can quote the traffic: no line may hold a control character.
    return "\n".join(printable(line) for line in lines)


def _describe_selection(report: ImportReport) -> str:
    sel = report.selection
    parts = []
    if sel.since is not None or sel.until is not None:
        parts.append(f"window {_stamp(sel.since)} .. {_stamp(sel.until)}")
    if sel.methods:
        parts.append("methods " + ",".join(sel.methods))
    if sel.sample_rate < 1.0:
        parts.append(f"keys sampled at {sel.sample_rate:g} (seed {sel.seed})")
    dropped = ", ".join(f"{v} by {k}" for k, v in sorted(report.dropped.items()) if v)
    if dropped:
        parts.append(f"dropped {dropped}")
    return "; ".join(parts)


def _stamp(value: float | None) -> str:
    if value is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
