"""``warmer drift``: baseline and candidate cache tiers side by side, judged by ``[drift]``."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from warmer.cli._context import AppContext
from warmer.config.urls import url_problem
from warmer.errors import ExitCode, UsageError
from warmer.model.run import DriftReport, mask_url
from warmer.model.text import printable

if TYPE_CHECKING:
    from warmer.observe.drift import DriftPair


@click.command()
@click.option(
    "--baseline",
    metavar="URL",
    help="The running release's cache (redis://, rediss://, unix://, memcached://HOST:PORT).",
)
@click.option("--candidate", metavar="URL", help="The candidate's cache, as --baseline.")
@click.option(
    "--source",
    type=click.Choice(["redis", "memcached"]),
    help="What --baseline and --candidate are (default: from the URL scheme).",
)
@click.option("--name", default="cache", show_default=True, help="Tier name for --baseline.")
@click.option(
    "--tier",
    "tiers",
    multiple=True,
    metavar="NAME",
    help="Compare only this configured tier (repeatable; default: every tier with a baseline_url).",
)
@click.option("--sample-keys", type=click.IntRange(min=1), help="Keys sampled per side.")
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout instead of a table.")
@click.pass_obj
def drift(
    app: AppContext,
    baseline: str | None,
    candidate: str | None,
    source: str | None,
    name: str,
    tiers: Sequence[str],
    sample_keys: int | None,
    as_json: bool,
) -> None:
    """Compare baseline and candidate cache tiers: configuration, TTLs, key prefixes, memory.

    \b
    Either one pair given on the command line:
      warmer drift --baseline redis://prod-cache:6379 --candidate redis://cand-cache:6379
    or every [tiers.NAME] with a baseline_url in warmer.toml (its url is the candidate).
    Tolerances come from [drift]; keys sampled per side from [observe] sample_keys.
    Both sides are only read, never written.

    \b
    Exit codes: 0 within tolerances, 1 a difference exceeds them, 2 bad input,
                3 a tier unreachable (named).
    """
    from warmer.observe.drift import measure

    config = app.config
    if sample_keys is not None:
        observe = dataclasses.replace(config.observe, sample_keys=sample_keys)
        config = dataclasses.replace(config, observe=observe)
    pairs = _pairs(app, baseline, candidate, source, name, tiers)
    report = measure(config, pairs)
    if as_json:
        click.echo(json.dumps(_document(report, [p.tier for p in pairs]), indent=2))
    else:
        _print_table(report)
    if report.failures:
        sys.exit(int(ExitCode.CHECK_FAILED))


def _pairs(
    app: AppContext,
    baseline: str | None,
    candidate: str | None,
    source: str | None,
    name: str,
    tiers: Sequence[str],
) -> list[DriftPair]:
    from warmer.observe.drift import DriftPair, config_pairs

    if baseline or candidate:
        if not (baseline and candidate):
            raise UsageError("--baseline and --candidate go together", "give both URLs, or neither")
        if tiers:
            raise UsageError(
                "--tier picks tiers of warmer.toml; --baseline and --candidate name the pair",
                "drop --tier, or drop --baseline/--candidate to compare configured tiers",
            )
        if not name.strip():
            raise UsageError("--name: a tier name cannot be empty")
        kind = source or _kind(baseline)
        for flag, url in (("--baseline", baseline), ("--candidate", candidate)):
            problem = url_problem(kind, url)
            if problem:
                raise UsageError(
                    f"{flag}: {problem}", "e.g. redis://host:6379/0 or memcached://host:11211"
                )
        return [DriftPair(name, kind, baseline, candidate, "--baseline", "--candidate")]
    pairs = config_pairs(app.config, tiers)
    unknown = sorted(set(tiers) - {p.tier for p in pairs})
    if unknown:
        raise UsageError(
            f"no tier {', '.join(unknown)} with a baseline_url in warmer.toml",
            "set [tiers.NAME] baseline_url (redis or memcached tiers) or fix --tier",
        )
    if not pairs:
        raise UsageError(
            "nothing to compare",
            "pass --baseline URL --candidate URL, or set baseline_url on a redis or "
            "memcached [tiers.NAME] in warmer.toml",
        )
    return list(pairs)


def _kind(url: str) -> str:
    """redis or memcached, from the URL's scheme (``UsageError`` for any other)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memcached":
        return "memcached"
    if scheme in ("redis", "rediss", "unix"):
        return "redis"
    raise UsageError(
        f"--baseline: {printable(mask_url(url))!r} is not a redis://, rediss://, unix:// or "
        "memcached:// URL",
        "give the scheme, or --source redis|memcached",
    )


def _document(report: DriftReport, tiers: Sequence[str]) -> dict[str, object]:
    return {
        "failures": report.failures,
        "tiers": {
            tier: sum(r.status == "drift" for r in report.rows if r.tier == tier) for tier in tiers
        },
        "rows": [dataclasses.asdict(r) for r in report.rows],
    }


_STYLE = {"ok": "green", "drift": "bold red", "no_data": "yellow", "info": "dim"}
_LABEL = {"ok": "ok", "drift": "DRIFT", "no_data": "no data", "info": "–"}


def _print_table(report: DriftReport) -> None:
    from rich.console import Console
    from rich.table import Table

    tty = sys.stdout.isatty()
    console = Console(
        no_color=bool(os.environ.get("NO_COLOR")), highlight=False, width=None if tty else 160
    )
    table = Table(title="warmer drift: baseline against candidate", title_justify="left")
    for column in ("tier", "aspect", "baseline", "candidate", "status", "detail"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        cells = (row.tier, row.aspect, row.baseline, row.candidate)
        status = _LABEL.get(row.status, row.status)
        table.add_row(
            *(_plain(c) for c in cells),
            f"[{_STYLE.get(row.status, '')}]{status}[/]",
            _plain(row.detail),
        )
    console.print(table)
    verdict = (
        f"{report.failures} difference(s) beyond the [drift] tolerances"
        if report.failures
        else "within the [drift] tolerances"
    )
    click.echo(verdict, err=True)


def _plain(text: str) -> str:
    """Untrusted text (key prefixes, server replies) safe for rich: printable, no markup."""
    from rich.markup import escape

    return escape(printable(mask_url(text) if "://" in text else text))
