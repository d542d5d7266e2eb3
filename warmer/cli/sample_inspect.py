"""``warmer sample inspect``: print what a sample looks like and which hit rates it allows."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from warmer.cli._types import bounded, limited
from warmer.model.text import printable
from warmer.sample.inspect import SampleProfile, profile_sample
from warmer.sample.source import SampleSource

if TYPE_CHECKING:
    from warmer.sample.mrc import MissRatioCurve, MissRatioCurves
    from warmer.sample.simulate import Simulation, TierSpec


@click.command("inspect")
@click.argument("sample_path", metavar="SAMPLE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@click.option(
    "--warm-fraction",
    type=limited("sample.warm_fraction"),
    default=0.8,
    show_default=True,
    help="Share of the time span that warms; the rest verifies.",
)
@click.option(
    "--top",
    type=bounded(0, 100_000, integer=True),
    default=10,
    show_default=True,
    help="Top keys to list.",
)
@click.option(
    "--mrc",
    is_flag=True,
    help="Add the LRU miss-ratio curve: hit rate by cache size, and the sizes that reach "
    "80/90/95/99 %.",
)
@click.option(
    "--mrc-method",
    type=click.Choice(["auto", "exact", "shards"]),
    default="auto",
    show_default=True,
    help="exact stack distances, or SHARDS sampling (auto: exact up to 1M requests).",
)
@click.option(
    "--mrc-keys",
    type=bounded(16, 1 << 24, integer=True),
    default=16_384,
    show_default=True,
    help="SHARDS: distinct keys tracked at most (its fixed memory).",
)
@click.option(
    "--simulate",
    "tiers",
    multiple=True,
    metavar="'TIER=CAPACITY [ttl=D] [lru|lfu]'",
    help="Predict a tier's hit rate at the recorded pace, e.g. 'l0=10000 objects ttl=60s' "
    "or 'l2=2GB ttl=1h'; repeat, nearest tier first, to chain them.",
)
def inspect_command(
    sample_path: Path,
    as_json: bool,
    warm_fraction: float,
    top: int,
    mrc: bool,
    mrc_method: str,
    mrc_keys: int,
    tiers: tuple[str, ...],
) -> None:
    """Profile SAMPLE: rates, key popularity, and the hit-rate ceilings it allows.

    \b
    The warmable ceiling is the share of cacheable requests in the verify part
    (after the first --warm-fraction of the time span) whose key already
    occurred in the warm part.
    \b
    --mrc adds the miss-ratio curve of an LRU cache (exact, or SHARDS on large
    samples); --simulate chains tier models (LRU/LFU with TTL), each tier seeing
    the previous ones' misses, and prints the predicted hit rates over the whole
    sample and over the verify part after the warm part.
    """
    from warmer.sample.simulate import parse_tier_spec

    specs = [parse_tier_spec(text) for text in tiers]
    source = SampleSource.open(sample_path)
    profile = profile_sample(source, warm_fraction=warm_fraction, top=top)
    curves = _curves(source, mrc_method, mrc_keys) if mrc else None
    simulated = _simulations(source, specs, profile) if specs else None
    if as_json:
        document = profile.to_dict()
        if curves is not None:
            document["mrc"] = curves.to_dict()
        if simulated is not None:
            document["simulation"] = {k: v.to_dict() for k, v in simulated.items()}
        click.echo(json.dumps(document, indent=2))
        return
    blocks = [render_text(profile, str(sample_path))]
    if curves is not None:
        blocks.append(render_mrc(curves, profile.infinite_cache_ceiling))
    if simulated is not None:
        blocks.append(render_simulation(specs, simulated))
    click.echo("\n\n".join(blocks))


def _curves(source: SampleSource, method: str, keys: int) -> MissRatioCurves:
    from warmer.sample.mrc import miss_ratio_curves

    return miss_ratio_curves(source, method=method, max_keys=keys)  # type: ignore[arg-type]


def _simulations(
    source: SampleSource, specs: Sequence[TierSpec], profile: SampleProfile
) -> dict[str, Simulation]:
    from warmer.sample.simulate import simulate_tiers

    found = {"whole": simulate_tiers(source, specs)}
    if profile.split is not None:
        found["verify"] = simulate_tiers(source, specs, count_from=profile.split.cutoff_ts)
    return found


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


def render_mrc(curves: MissRatioCurves, ceiling: float | None) -> str:
    """The miss-ratio curve block: sizes for the target hit rates, a table and a chart."""
    how = "exact stack distances"
    if curves.method == "shards":
        how = (
            f"SHARDS, {curves.sampling_rate:.2%} of the keys sampled "
            f"({curves.sampled_keys:,} tracked)"
        )
    lines = [f"Miss-ratio curve (LRU; {how}; {curves.requests:,} cacheable requests)"]
    rows = [("hit rate", "objects" + ("   /   bytes" if curves.bytes else ""))]
    for target, size in curves.targets.get("objects", {}).items():
        text = _size_text(size, "objects", ceiling)
        if curves.bytes is not None:
            text += "   /   " + _size_text(curves.targets["bytes"][target], "bytes", ceiling)
        rows.append((f"{float(target) * 100:.0f} %", text))
    lines.append(_rows(rows))
    lines.append("")
    lines.append("  cache size (objects)   hit rate")
    for size in _table_sizes(curves.objects):
        lines.append(f"  {size:>20,.0f}   {_pct(curves.objects.hit_rate(size)):>7}")
    lines.append("")
    lines += _chart(curves.objects)
    return "\n".join(lines)


def _size_text(size: float | None, unit: str, ceiling: float | None) -> str:
    if size is None:
        reach = "" if ceiling is None else f" (ceiling {_pct(ceiling)})"
        return f"unreachable{reach}"
    return f"{size:,.0f} objects" if unit == "objects" else _bytes(size)


def _table_sizes(curve: MissRatioCurve) -> list[float]:
    top = curve.sizes[-1]
    sizes = [10.0**k for k in range(0, int(math.log10(top)) + 1)]
    sizes += [m * s for s in sizes for m in (2, 5) if m * s < top]
    return sorted({*sizes, top})


def _chart(curve: MissRatioCurve, width: int = 60, height: int = 10) -> list[str]:
    """Hit rate (rows) against cache size on a log scale (columns), in plain characters."""
    top = max(curve.sizes[-1], 10.0)
    columns = [10 ** (math.log10(top) * i / (width - 1)) for i in range(width)]
    levels = [curve.hit_rate(size) for size in columns]
    grid = []
    for row in range(height, 0, -1):
        floor = (row - 0.5) / height
        label = f"{row * 100 // height:>3} % |" if row % 2 == 0 else "      |"
        grid.append(label + "".join("█" if v >= floor else " " for v in levels))
    grid.append("      +" + "-" * width)
    grid.append(f"       1{'cache size (objects, log scale)':^{width - 12}}{top:>10,.0f}")
    return ["  hit rate by cache size", *grid]


def render_simulation(specs: Sequence[TierSpec], simulated: dict[str, Simulation]) -> str:
    """Predicted hit rate per tier and effective: whole sample, and verify after warm."""
    whole, verify = simulated["whole"], simulated.get("verify")
    lines = ["Tier simulation (recorded pace; each tier sees the previous tiers' misses)"]
    if whole.sampling_rate < 1.0:
        lines.append(f"  in miniature: {whole.sampling_rate:.2%} of the keys, caches scaled alike")
    head = ("tier", "model", "whole sample", "verify part" if verify else "")
    rows: list[tuple[str, ...]] = [head]
    for spec in specs:
        name = spec.name
        rows.append(
            (
                name,
                spec.describe().partition(": ")[2],
                _pct(_rate(whole, name)),
                _pct(_rate(verify, name)) if verify else "",
            )
        )
    rows.append(
        (
            "effective",
            "",
            _pct(whole.effective_hit_rate),
            _pct(verify.effective_hit_rate) if verify else "",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(
        "  whole sample: every cacheable request from cold; verify part: after the warm "
        "part (--warm-fraction)"
    )
    return "\n".join(line.rstrip() for line in lines)


def _rate(simulation: Simulation | None, name: str) -> float | None:
    tier = simulation.tier(name) if simulation is not None else None
    return None if tier is None else tier.hit_rate
