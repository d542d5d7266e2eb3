"""Split one replay over several processes and merge what they wrote.

Each shard is a full replay of every n-th record at 1/n of the rate (``ReplayPlan.shard``)
writing its own results part; :func:`merge_parts` concatenates the parts into one results
file and :func:`merge_summaries` adds their counts and HDR histograms.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from warmer.errors import UsageError
from warmer.model.results import RESULTS_ARROW_SCHEMA
from warmer.replay.results import META_KEY, open_results
from warmer.replay.run import ReplaySummary
from warmer.replay.summary import decode, encode, percentiles_ms


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``--shard I/N`` (0 <= I < N)."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or not 0 <= i < n:
        raise UsageError(f"cannot read shard {text!r}", "write I/N with 0 <= I < N, e.g. 0/2")
    return i, n


def merge_parts(parts: Sequence[Path], out: Path) -> dict[str, Any]:
    """Concatenate results parts into ``out``; returns the merged metadata."""
    files = [open_results(p) for p in parts]
    meta: dict[str, Any] = dict(files[0].meta) if files else {}
    meta["started_at"] = min((f.meta.get("started_at", 0.0) for f in files), default=0.0)
    meta["shards"] = len(files)
    meta["runs"] = [summary_dict(merge_summaries([_runs(f.meta)[0] for f in files]))]
    tmp = out.with_name(out.name + ".part")
    schema = RESULTS_ARROW_SCHEMA.with_metadata({META_KEY: json.dumps(meta, default=str)})
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for f in files:
            for batch in f.iter_batches():
                writer.write_batch(batch.replace_schema_metadata(schema.metadata))
    os.replace(tmp, out)
    return meta


def _runs(meta: dict[str, Any]) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = meta.get("runs") or [{}]
    return runs


def summary_dict(summary: ReplaySummary) -> dict[str, Any]:
    """``summary.to_dict()``; named for symmetry with :func:`summary_from_dict`."""
    return summary.to_dict()


def summary_from_dict(data: dict[str, Any]) -> ReplaySummary:
    """Rebuild a summary stored in a results file's metadata."""
    fields = ReplaySummary.__dataclass_fields__
    return ReplaySummary(**{k: v for k, v in data.items() if k in fields})


def merge_summaries(summaries: Sequence[dict[str, Any] | ReplaySummary]) -> ReplaySummary:
    """One summary for shards that ran side by side (durations overlap: the longest wins)."""
    items = [s if isinstance(s, ReplaySummary) else summary_from_dict(s) for s in summaries]
    if not items:
        raise ValueError("no summaries to merge")
    first = items[0]
    hist = {name: decode("") for name in ("latency", "from_schedule", "send_lag")}
    for item in items:
        for name, histogram in hist.items():
            histogram.add(decode(item.histograms.get(name, "")))
    sent = sum(i.sent for i in items)
    duration = max(i.duration_s for i in items)
    return ReplaySummary(
        phase=first.phase,
        engine=first.engine,
        target=first.target,
        sent=sent,
        responses=sum(i.responses for i in items),
        status_classes=_add(i.status_classes for i in items),
        errors=_add(i.errors for i in items),
        skipped=_add(i.skipped for i in items),
        duration_s=duration,
        rate=round(sent / duration, 1) if duration > 0 else 0.0,
        latency_ms=percentiles_ms(hist["latency"]),
        latency_from_schedule_ms=percentiles_ms(hist["from_schedule"]),
        send_lag_ms=percentiles_ms(hist["send_lag"]),
        interrupted=any(i.interrupted for i in items),
        histograms={name: encode(h) for name, h in hist.items()},
    )


def _add(counts: Any) -> dict[str, int]:
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(sorted(total.items()))
