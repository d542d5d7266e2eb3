"""Stage 5 — report: render a run as JSON, Markdown, HTML and JUnit XML.

Writers are pure (``RunReport`` in, text out); ``write_reports`` is the one function here
that touches the disk. The package depends only on ``warmer.model``.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warmer.errors import InputError, UsageError
from warmer.model.run import RunReport
from warmer.report.interface import FunctionReporter, Reporter

if TYPE_CHECKING:
    from warmer.report.html import render_html
    from warmer.report.json_report import load_report, parse_report, render_json
    from warmer.report.junit import render_junit
    from warmer.report.markdown import render_markdown

# Each writer's module is imported on first use: the HTML one with its charts is the
# heaviest import of a gate run, and a run directory written as JSON only never needs it.
_EXPORTS = {
    "render_html": "warmer.report.html",
    "render_json": "warmer.report.json_report",
    "load_report": "warmer.report.json_report",
    "parse_report": "warmer.report.json_report",
    "render_junit": "warmer.report.junit",
    "render_markdown": "warmer.report.markdown",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'warmer.report' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def _lazy(name: str) -> Callable[[RunReport], str]:
    """``render_x`` of the writer module, imported when a report is first rendered."""

    def render(run: RunReport) -> str:
        function: Callable[[RunReport], str] = __getattr__(name)
        return function(run)

    render.__name__ = name
    return render


REPORTERS: dict[str, Reporter] = {
    "json": FunctionReporter("json", "report.json", _lazy("render_json")),
    "md": FunctionReporter("md", "report.md", _lazy("render_markdown")),
    "html": FunctionReporter("html", "report.html", _lazy("render_html")),
    "junit": FunctionReporter("junit", "junit.xml", _lazy("render_junit")),
}
"""Every format by its command-line name."""

FORMATS: tuple[str, ...] = tuple(REPORTERS)


def get_reporter(name: str) -> Reporter:
    """The reporter for format ``name``; ``UsageError`` naming the known formats otherwise."""
    try:
        return REPORTERS[name]
    except KeyError:
        raise UsageError(
            f"unknown report format {name!r}", hint=f"use one of: {', '.join(FORMATS)}"
        ) from None


def write_reports(
    run: RunReport, run_dir: str | Path, formats: Iterable[str] = FORMATS
) -> dict[str, Path]:
    """Render ``run`` in each format into ``run_dir`` (created if needed); returns the paths.

    Each file is written atomically (temporary file, then rename), so a reader never sees
    half a report, also when the gate is interrupted while writing.
    """
    reporters = [get_reporter(f) for f in dict.fromkeys(formats)]
    directory = Path(run_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the run directory {directory}: {exc}") from exc
    return {r.format: write_text_atomic(directory / r.filename, r.render(run)) for r in reporters}


def preload(formats: Iterable[str] = FORMATS) -> None:
    """Import the writers of ``formats`` now, ahead of rendering (unknown names are skipped).

    The gate calls it while it waits for the caches to settle, so the reports' imports
    do not add to its run time.
    """
    for name in dict.fromkeys(formats):
        if name in REPORTERS:
            importlib.import_module(_EXPORTS[f"render_{_WRITER_NAMES.get(name, name)}"])


_WRITER_NAMES = {"md": "markdown"}


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are CI artifacts others read
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc}") from exc
    return path


__all__ = [
    "FORMATS",
    "REPORTERS",
    "Reporter",
    "get_reporter",
    "load_report",
    "parse_report",
    "preload",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "write_reports",
    "write_text_atomic",
]
