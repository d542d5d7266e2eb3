"""The JSON report: ``RunReport.to_dict()`` with stable key order, and its loader."""

from __future__ import annotations

import json
from pathlib import Path

from warmer.errors import InputError
from warmer.model.run import REPORT_SCHEMA_VERSION, RunReport


def render_json(run: RunReport) -> str:
    """``report.json``: the model in field order, 2-space indented, UTF-8, newline-terminated.

    A value JSON cannot hold (a ``Path`` in ``config``, say) is written as its ``str`` rather
    than failing the run at its very end.
    """
    data = run.to_dict()
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str) + "\n"


def parse_report(text: str, source: str = "report.json") -> RunReport:
    """Parse ``render_json`` output; raises ``InputError`` (exit 2) with a hint when unusable."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            hint="re-run the gate, or point at the run directory that holds its report.json",
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"{source} is not a warmer report (expected a JSON object)")
    try:
        return RunReport.from_dict(data)
    except ValueError as exc:
        raise InputError(
            f"{source} is not a usable warmer report: {exc}", hint=_hint(data)
        ) from exc


def load_report(path: str | Path) -> RunReport:
    """Read and validate a ``report.json`` file (or the one inside a run directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(
            f"{path} does not exist",
            hint="pass a run directory written by `warmer gate` (it holds report.json)",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return parse_report(text, str(path))


def _hint(data: dict[str, object]) -> str:
    version = data.get("schema_version")
    if isinstance(version, int) and version > REPORT_SCHEMA_VERSION:
        return "the report was written by a newer warmer; upgrade warmer to read it"
    return "the file may be truncated or edited by hand; re-run the gate to write it again"
