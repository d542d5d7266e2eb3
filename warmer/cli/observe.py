"""``warmer observe``: a one-off table (or JSON) of every configured tier and the backend."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import click

from warmer.cli._context import AppContext
from warmer.cli._types import limited
from warmer.errors import ConfigError, ObserverUnreachableError
from warmer.model.text import printable

if TYPE_CHECKING:
    from warmer.observe.status import SourceStatus


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout instead of a table.")
@click.option(
    "--timeout-s",
    type=limited("observe.timeout_s"),
    default=2.0,
    show_default=True,
    help="Connect/read timeout per source ([observe] timeout_s).",
)
@click.pass_obj
def observe(app: AppContext, as_json: bool, timeout_s: float) -> None:
    """Snapshot every configured cache tier and the backend, with reachability.

    Counters are cumulative since each server started. Exit 3 when a required source
    ([tiers.NAME] or [backend] with required = true) cannot be reached.
    """
    from warmer.observe.status import observe_now

    config = app.config
    if not config.tiers and config.backend is None:
        raise ConfigError(
            "no [tiers.NAME] or [backend] configured",
            hint="add them to warmer.toml (see SourceConfig in warmer/config/schema.py)",
        )
    config = dataclasses.replace(
        config, observe=dataclasses.replace(config.observe, timeout_s=timeout_s)
    )
    found = observe_now(config)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in found], indent=2))
    else:
        click.echo(_table(found))
    failed = [s.reach for s in found if s.reach.required and s.reach.reachable is False]
    if failed:
        first = failed[0]
        raise ObserverUnreachableError(
            first.error or f"cannot reach {first.name} at {first.address}",
            hint=f"{len(failed)} required source(s) unreachable; check their url in warmer.toml",
        )


_HEADERS = (
    "source",
    "kind",
    "address",
    "reachable",
    "hits",
    "misses",
    "hit rate",
    "keys",
    "memory",
    "evictions",
    "requests",
)


def _table(found: list[SourceStatus]) -> str:
    rows = [_HEADERS, *(tuple(printable(c) for c in _row(s)) for s in found)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADERS))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _row(status: SourceStatus) -> tuple[str, ...]:
    reach, snap = status.reach, status.snapshot
    reachable = {None: "from responses", True: "yes", False: "NO"}[reach.reachable]
    if reach.reachable is False and not reach.required:
        reachable = "NO (optional)"
    rate = f"{status.hit_rate:.1%}" if status.hit_rate is not None else "-"
    name = f"{reach.name} (shared)" if status.shared else reach.name
    return (
        name,
        reach.source,
        reach.address,
        reachable,
        _n(snap.hits if snap else None),
        _n(snap.misses if snap else None),
        rate,
        _n(snap.keys if snap else None),
        _bytes(snap.memory_bytes if snap else None),
        _n(snap.evictions if snap else None),
        _n(snap.requests if snap else None),
    )


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _bytes(value: int | None) -> str:
    if value is None:
        return "-"
    size, unit = float(value), "B"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            break
        size /= 1024
    return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
