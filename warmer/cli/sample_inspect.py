"""``warmer sample inspect``: print what a sample looks like and which hit rates it allows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from warmer.model.text import printable
from warmer.sample.inspect import SampleProfile, profile_sample
from warmer.sample.source import SampleSource


@click.command("inspect")
@click.argument("sample_path", metavar="SAMPLE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@click.option(
    "--warm-fraction",
    type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
    default=0.8,
    show_default=True,
    help="Share of the time span that warms; the rest verifies.",
)
@click.option(
    "--top", type=click.IntRange(min=0), default=10, show_default=True, help="Top keys to list."
)
def inspect_command(sample_path: Path, as_json: bool, warm_fraction: float, top: int) -> None:
    """Profile SAMPLE: rates, key popularity, and the hit-rate ceilings it allows.

    \b
    The warmable ceiling is the share of cacheable requests in the verify part
    (after the first --warm-fraction of the time span) whose key already
    occurred in the warm part.
    """
    profile = profile_sample(SampleSource.open(sample_path), warm_fraction=warm_fraction, top=top)
    if as_json:
        click.echo(json.dumps(profile.to_dict(), indent=2))
    else:
        click.echo(render_text(profile, str(sample_path)))


def render_text(profile: SampleProfile, name: str) -> str:
    """The human-readable profile, one section per block of figures; text from the traffic
    (keys, methods, cache statuses) has its control characters escaped."""
    blocks = [
        _overview(profile, name),
        _keys(profile),
        _ceilings(profile),
        _counts("Methods", profile.methods, profile.requests),
    ]
    if profile.statuses is not None:
        blocks.append(_counts("Statuses", profile.statuses, profile.requests))
    if profile.cache_statuses is not None:
        blocks.append(_counts("Production cache status", profile.cache_statuses, profile.requests))
    if profile.object_sizes is not None:
        blocks.append(_sizes(profile))
    if profile.top_keys:
        blocks.append(_top(profile))
    return "\n\n".join(blocks)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _rows(rows: list[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label.ljust(width)}  {value}" for label, value in rows)


def _overview(p: SampleProfile, name: str) -> str:
    return f"Sample {printable(name)}\n" + _rows(
        [
            ("requests", f"{p.requests:,}"),
            ("time span", f"{_when(p.start_ts)} → {_when(p.end_ts)} ({p.span_s:,.0f} s)"),
            ("mean rate", f"{p.mean_rate:,.1f} req/s"),
            ("peak rate", f"{p.peak_rate:,} req/s (busiest second)"),
        ]
    )


def _keys(p: SampleProfile) -> str:
    zipf = "n/a (too few repeated keys)"
    if p.zipf is not None:
        zipf = (
            f"{p.zipf.exponent:.2f} (ranks {p.zipf.rank_from}–{p.zipf.rank_to}, "
            f"R² {p.zipf.r_squared:.3f})"
        )
    return "Keys\n" + _rows(
        [
            ("unique keys", f"{p.unique_keys:,}"),
            ("Zipf exponent", zipf),
            ("one-hit wonders", f"{_pct(p.one_hit_key_share)} of keys, "
             f"{_pct(p.one_hit_request_share)} of requests"),
        ]
    )  # fmt: skip


def _ceilings(p: SampleProfile) -> str:
    rows = [
        ("cacheable requests", f"{p.cacheable_requests:,} (GET/HEAD, not BYPASS)"),
        ("infinite-cache ceiling", _pct(p.infinite_cache_ceiling)),
    ]
    if p.split is None:
        rows.append(("warm/verify split", "n/a (the sample spans no time)"))
    else:
        s = p.split
        rows += [
            (
                "warm / verify",
                f"{s.warm_requests:,} / {s.verify_requests:,} requests "
                f"(first {s.warm_fraction:.0%} of the time span warms)",
            ),
            ("warmable ceiling", f"{_pct(s.warmable_ceiling)} of cacheable verify requests"),
        ]
    return "Hit-rate ceilings\n" + _rows(rows)


def _counts(title: str, counts: dict[str, int], total: int) -> str:
    rows = [(printable(k), f"{v:>9,}  {v / total:6.1%}") for k, v in counts.items()]
    return f"{title}\n" + _rows(rows)


def _sizes(p: SampleProfile) -> str:
    s = p.object_sizes
    assert s is not None
    return "Object sizes (per key, 2xx)\n" + _rows(
        [
            ("objects", f"{s.objects:,}"),
            ("p50 / p90 / p99", f"{_bytes(s.p50)} / {_bytes(s.p90)} / {_bytes(s.p99)}"),
            ("mean / max", f"{_bytes(s.mean)} / {_bytes(s.max)}"),
            ("working set", _bytes(s.working_set_bytes)),
        ]
    )


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} GB"  # pragma: no cover - the loop always returns


def _top(p: SampleProfile) -> str:
    lines = [f"Top {len(p.top_keys)} keys"]
    lines += [f"  {k.share:6.2%}  {k.requests:>8,}  {printable(k.key)}" for k in p.top_keys]
    return "\n".join(lines)
