"""``warmer report RUN_DIR``: re-render a run's reports from its ``report.json`` (no replay)."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from warmer.errors import InputError, UsageError
from warmer.model.run import RunReport
from warmer.report import FORMATS, get_reporter, load_report, write_reports, write_text_atomic


@click.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(FORMATS),
    help="Format to render; repeat for several (default: [gate] reports, all four).",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE|DIR|-",
    help="Where to write: a file (one format), a directory, or - for stdout "
    "(default: RUN_DIR itself; with - the default format is md).",
)
@click.pass_context
def report(ctx: click.Context, run_dir: Path, formats: tuple[str, ...], output: str | None) -> None:
    """Re-render the reports of RUN_DIR (a run directory or its report.json).

    \b
    Examples:
      warmer report warmer-runs/20261130T184000Z-3f2a
      warmer report RUN_DIR --format md --output - >> "$GITHUB_STEP_SUMMARY"
      warmer report RUN_DIR --format junit --output junit.xml
    """
    run, directory = _load(run_dir)
    formats = _choose_formats(ctx, formats, output)
    if output == "-":
        click.echo(get_reporter(formats[0]).render(run), nl=False)
        return
    for path in _write(run, directory, formats, output):
        click.echo(f"wrote {path}", err=True)


def _load(run_dir: Path) -> tuple[RunReport, Path]:
    if not run_dir.exists():
        raise InputError(
            f"run directory {run_dir} does not exist",
            hint="pass a directory written by `warmer gate` (see [gate] run_dir)",
        )
    if run_dir.is_dir() and not (run_dir / "report.json").is_file():
        raise InputError(
            f"{run_dir} holds no report.json, so it is not a warmer run directory",
            hint="pass a directory written by `warmer gate`; an interrupted run still writes one",
        )
    directory = run_dir if run_dir.is_dir() else run_dir.parent
    return load_report(run_dir), directory


def _choose_formats(
    ctx: click.Context, formats: tuple[str, ...], output: str | None
) -> tuple[str, ...]:
    explicit = ctx.get_parameter_source("formats") not in (
        ParameterSource.DEFAULT,
        ParameterSource.DEFAULT_MAP,
    )
    formats = tuple(dict.fromkeys(formats)) or FORMATS
    if output == "-" and not explicit:
        return ("md",)
    single_target = output == "-" or (output is not None and not _is_dir(output))
    if single_target and len(formats) != 1:
        raise UsageError(
            f"--output {output} takes one format, got {len(formats)} ({', '.join(formats)})",
            hint="name one with --format, or give --output a directory",
        )
    return formats


def _is_dir(output: str) -> bool:
    return output.endswith(("/", "\\")) or Path(output).is_dir()


def _write(
    run: RunReport, directory: Path, formats: tuple[str, ...], output: str | None
) -> list[Path]:
    if output is None or _is_dir(output):
        target = directory if output is None else Path(output)
        return list(write_reports(run, target, formats).values())
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {path.parent}: {exc}") from exc
    return [write_text_atomic(path, get_reporter(formats[0]).render(run))]
