"""A gate run directory as pandas DataFrames, for analysis in a notebook.

Every request, every observer reading and the replayed sample of a run are in its run
directory; :func:`load_run` hands them over as DataFrames, next to the parsed report::

    import warmer.analysis

    run = warmer.analysis.load_run("warmer-runs/20261207-081311-75bb")
    run.results.groupby("phase")["latency_ms"].describe()
    run.timelines.pivot_table(index="t", columns="source", values="hits")
    run.report.verdict, run.metrics["hit_rate.l0"]

pandas is imported here only, when this module is used; the rest of warmer never needs it.
Large runs: ``columns`` limits what is read from ``results.parquet`` (a 2M-request run
holds a few hundred MB of results).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warmer.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from warmer.model.run import RunReport


@dataclass(frozen=True)
class RunData:
    """One run directory, loaded."""

    path: Path
    report: RunReport
    """``report.json``: verdict, checks, phases, steps, timelines (downsampled)."""
    results: pd.DataFrame
    """``results.parquet``: one row per request sent (empty when nothing was sent)."""
    timelines: pd.DataFrame
    """``timelines.json`` in long form: one row per (reading, source), counters as columns."""
    sample: pd.DataFrame | None
    """``sample.parquet``: the replayed records with a ``phase`` column (None when the run
    only referenced a sample too large to copy: ``sample.json`` says where it is)."""
    metrics: dict[str, float | str | bool | None]
    """``evidence.json``'s metrics: every value a check can read (strings and booleans for
    tier settings such as ``l2.config.maxmemory_policy``)."""


def load_run(path: str | Path, *, columns: list[str] | None = None) -> RunData:
    """Load the run directory at ``path``; ``columns`` selects results columns (default all).

    Raises ``InputError`` when ``path`` is not a run directory or a file in it is garbage.
    """
    from warmer.report import load_report

    directory = Path(path)
    report = load_report(directory)
    return RunData(
        path=directory,
        report=report,
        results=_results(directory / "results.parquet", columns),
        timelines=timelines_frame(_json(directory / "timelines.json", default=[])),
        sample=_parquet(directory / "sample.parquet"),
        metrics=dict(_json(directory / "evidence.json", default={}).get("metrics", {})),
    )


def timelines_frame(samples: list[dict[str, Any]]) -> pd.DataFrame:
    """Observer readings (``timelines.json``) as one row per reading and source."""
    import pandas as pd

    rows = []
    for sample in samples:
        for source, reading in (sample.get("sources") or {}).items():
            row = {"t": sample.get("t"), "label": sample.get("label"), "source": source}
            row["answered"] = reading is not None
            row.update(reading or {})
            rows.append(row)
    columns = ["t", "label", "source", "answered"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def _results(path: Path, columns: list[str] | None) -> pd.DataFrame:

    from warmer.model.results import RESULTS_ARROW_SCHEMA
    from warmer.replay.results import open_results

    table = open_results(path).to_table(columns) if path.exists() else None
    if table is None:
        table = RESULTS_ARROW_SCHEMA.empty_table()
        table = table.select(columns) if columns else table
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _parquet(path: Path) -> pd.DataFrame | None:
    import pyarrow.parquet as pq

    if not path.exists():
        return None
    try:
        frame: pd.DataFrame = pq.read_table(path).to_pandas()
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return frame


def _json(path: Path, *, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}", "is this a run directory?") from exc
