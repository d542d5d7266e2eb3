"""The run directory: one folder per gate run holding everything needed to re-judge it.

Layout (every file is written atomically; a partial run has what it got to)::

    RUN_DIR/
      config.json        effective configuration, secrets masked, plus the checks judged
      sample.json        which sample: path, size, split cutoff, rows per phase
      sample.parquet     the rows replayed (warm + verify, a ``phase`` column), kept when
                         the sample has at most SLICE_COPY_MAX_ROWS rows; above that
                         sample.json alone refers to the original file and its bounds
      results.parquet    one row per request sent (replay's results schema)
      timelines.json     observer samples over time (t, per tier or backend counters)
      evidence.json      the flat metric mapping the checks read, plus diagnosis evidence
      report.json / report.md / report.html / junit.xml
"""

from __future__ import annotations

import dataclasses
import json
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warmer.checks.vocabulary import MetricValue
from warmer.errors import InputError
from warmer.gate.diagnose import Evidence
from warmer.model.run import MASK, mask_secrets, mask_url

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.config.schema import Config
    from warmer.sample.source import SampleSource

SLICE_COPY_MAX_ROWS = 200_000
"""Samples up to this size are copied into the run directory; bigger ones are referenced."""


def new_run_id(now: float | None = None) -> str:
    """A sortable, unique run id: ``20261130-184501-3f9a``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def sample_ref(self) -> Path:
        return self.path / "sample.json"

    @property
    def sample_slice(self) -> Path:
        return self.path / "sample.parquet"

    @property
    def results(self) -> Path:
        return self.path / "results.parquet"

    @property
    def timelines(self) -> Path:
        return self.path / "timelines.json"

    @property
    def evidence(self) -> Path:
        return self.path / "evidence.json"

    @property
    def report_json(self) -> Path:
        return self.path / "report.json"

    @property
    def report_html(self) -> Path:
        return self.path / "report.html"

    def create(self) -> RunDir:
        """Make the directory (and parents); InputError when that is impossible."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create the run directory {self.path}: {exc.strerror}",
                "choose another --run-dir",
            ) from exc
        return self

    def write_json(self, path: Path, data: Any) -> Path:
        """Write ``data`` as indented JSON, atomically; non-finite floats become null."""
        from warmer.report import write_text_atomic

        text = json.dumps(_finite(data), indent=2, ensure_ascii=False, allow_nan=False)
        return write_text_atomic(path, text + "\n")

    def read_json(self, path: Path) -> Any:
        """Read a JSON file of this run; InputError naming it when unreadable."""
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError(
                f"{path} does not exist", "is this a run directory written by `warmer gate`?"
            ) from exc
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {path}: {exc}") from exc


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _mask_strings(value: Any) -> Any:
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, Mapping):
        return {k: _mask_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_strings(v) for v in value]
    return value


def config_document(config: Config, checks: list[str]) -> dict[str, Any]:
    """The effective configuration as JSON, secrets masked, with the checks judged.

    Every value of ``[replay] headers`` (and of ``[stale_reads] bypass_headers`` and
    ``[invalidation] write_headers``) is masked, whatever its name: those headers are how
    candidate credentials are injected (``X-Candidate-Key``, ``X-Auth`` ...), and no name
    pattern catches them all. Every string is then cleared of URL passwords and
    credential-like query values (:func:`warmer.model.run.mask_url`).
    """
    tree = _mask_strings(mask_secrets(dataclasses.asdict(config)))
    tree["replay"]["headers"] = dict.fromkeys(tree["replay"]["headers"], MASK)
    # Bypass and write headers carry credentials the same way.
    for table, name in (("stale_reads", "bypass_headers"), ("invalidation", "write_headers")):
        if tree.get(table):
            tree[table][name] = dict.fromkeys(tree[table][name], MASK)
    if tree.get("invalidation") and tree["invalidation"]["write_body"]:
        tree["invalidation"]["write_body"] = MASK
    tree["gate"]["checks"] = list(checks)
    return dict(tree)


def write_sample(
    run_dir: RunDir,
    sample_path: Path,
    warm: SampleSource | pa.Table,
    verify: SampleSource | pa.Table,
    cutoff: float | None,
) -> dict[str, Any]:
    """Record which sample was used; copy the replayed rows when they are few enough."""
    from warmer.sample.source import SampleSource

    parts = {
        name: part if isinstance(part, SampleSource) else SampleSource.from_table(part)
        for name, part in (("warm", warm), ("verify", verify))
    }
    rows = {name: part.count() for name, part in parts.items()}
    reference: dict[str, Any] = {
        "path": str(sample_path.resolve()),
        "bytes": sample_path.stat().st_size if sample_path.exists() else None,
        "warm_rows": rows["warm"],
        "verify_rows": rows["verify"],
        "verify_from_ts": cutoff,
        "copied": False,
    }
    if sum(rows.values()) <= SLICE_COPY_MAX_ROWS:
        _write_slice(run_dir.sample_slice, parts)
        reference["copied"] = True
    run_dir.write_json(run_dir.sample_ref, reference)
    return reference


def _write_slice(path: Path, parts: Mapping[str, SampleSource]) -> None:
    """Both parts, batch by batch, with a ``phase`` column, under a ``.part`` name first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from warmer.model.sample import SAMPLE_ARROW_SCHEMA

    fields = [f.with_nullable(True) for f in SAMPLE_ARROW_SCHEMA]
    schema = pa.schema([*fields, pa.field("phase", pa.string())])
    tmp = path.with_name(path.name + ".part")
    # The file is opened here so that it is closed on every path: a writer that failed on
    # a full disk may not close its own file, and an open file keeps its space.
    try:
        with open(tmp, "wb") as sink:
            writer = pq.ParquetWriter(sink, schema, compression="zstd")
            try:
                for phase, part in parts.items():
                    for batch in part.batches(SAMPLE_ARROW_SCHEMA.names):
                        tag = pa.array([phase] * batch.num_rows, pa.string())
                        table = pa.Table.from_batches([batch]).append_column("phase", tag)
                        writer.write_table(table.cast(schema))
            finally:
                writer.close()
        tmp.replace(path)
    except (OSError, pa.ArrowException) as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc}", "is the disk full?") from exc


def evidence_document(evidence: Evidence, steps: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``evidence.json``: what :class:`Evidence` holds, plus each step's own evidence."""
    return {
        "metrics": dict(evidence.metrics),
        "tiers": list(evidence.tiers),
        "missing": dict(evidence.missing),
        "backend_gap": evidence.backend_gap,
        "tolerance": evidence.tolerance,
        "error_kinds": dict(evidence.error_kinds),
        "skipped": {phase: dict(reasons) for phase, reasons in evidence.skipped.items()},
        "steps": dict(steps or {}),
        "findings": dict(evidence.findings),
    }


def evidence_from_document(data: Any, source: str = "evidence.json") -> Evidence:
    """Rebuild :class:`Evidence` from ``evidence.json``; InputError when malformed."""
    try:
        return Evidence(
            metrics={str(k): _opt_value(v) for k, v in data["metrics"].items()},
            tiers=tuple(str(t) for t in data.get("tiers", ())),
            missing={str(k): str(v) for k, v in data.get("missing", {}).items()},
            backend_gap=_opt_float(data.get("backend_gap")),
            tolerance=float(data.get("tolerance", 0.05)),
            error_kinds={str(k): int(v) for k, v in data.get("error_kinds", {}).items()},
            skipped={
                str(phase): {str(k): int(v) for k, v in reasons.items()}
                for phase, reasons in data.get("skipped", {}).items()
            },
            findings=dict(data.get("findings", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{source} is not usable: {exc!r}", "re-run the gate") from exc


def _opt_value(value: Any) -> MetricValue:
    """A metric read back: strings and booleans as they are, numbers as floats."""
    if isinstance(value, str | bool):
        return value
    return _opt_float(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
