"""``warmer report RUN_DIR`` through the real CLI: every exit code it can give."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli_runner import run_warmer
from warmer.model.run import RunReport
from warmer.report import load_report, render_markdown, write_reports

warmer = run_warmer


@pytest.fixture
def run_dir(run: RunReport, tmp_path: Path) -> Path:
    directory = tmp_path / "run"
    write_reports(run, directory, ["json"])
    return directory


def test_rerenders_every_format_into_the_run_dir(run: RunReport, run_dir: Path) -> None:
    result = warmer("report", str(run_dir), cwd=run_dir.parent)
    assert result.returncode == 0, result.stderr
    names = {"report.json", "report.md", "report.html", "junit.xml"}
    assert {p.name for p in run_dir.iterdir()} == names
    for name in names:
        assert f"wrote {run_dir / name}" in result.stderr
    assert result.stdout == ""
    assert load_report(run_dir) == run
    assert (run_dir / "report.md").read_text() == render_markdown(run)


def test_markdown_to_stdout(run: RunReport, run_dir: Path) -> None:
    result = warmer("report", str(run_dir), "--output", "-", cwd=run_dir.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout == render_markdown(run)
    assert {p.name for p in run_dir.iterdir()} == {"report.json"}


def test_one_format_to_a_file(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "artifacts" / "junit.xml"
    result = warmer("report", str(run_dir), "--format", "junit", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ET.parse(out).getroot().get("tests") == "4"


def test_formats_into_another_directory(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = warmer(
        "report",
        str(run_dir / "report.json"),
        "--format",
        "md",
        "--format",
        "html",
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"report.md", "report.html"}


def test_formats_default_to_the_config_file(run_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text('[gate]\nreports = ["junit"]\n')
    result = warmer("report", str(run_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in run_dir.iterdir()} == {"report.json", "junit.xml"}


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("none", [], "does not exist"),
        ("empty", [], "holds no report.json"),
        ("garbage", [], "not valid JSON"),
        ("newer", [], "newer than this warmer"),
        ("ok", ["--format", "pdf"], "Invalid value for '--format'"),
        ("ok", ["-o", "one-file.xml"], "takes one format"),
        ("ok", ["--format", "md", "--format", "json", "-o", "-"], "takes one format"),
    ],
)
def test_unusable_input_is_exit_2_with_a_sentence(
    run: RunReport, tmp_path: Path, setup: str, args: list[str], message: str
) -> None:
    directory = tmp_path / "run"
    if setup != "none":
        directory.mkdir()
    contents = {"garbage": "{not json", "newer": '{"schema_version": 2}'}
    if setup in contents:
        (directory / "report.json").write_text(contents[setup])
    if setup == "ok":
        write_reports(run, directory, ["json"])
    result = warmer("report", str(directory), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_control_characters_from_a_report_never_reach_markdown(
    run: RunReport, tmp_path: Path
) -> None:
    """Text that came from traffic or config (a sample path, a warning, a tier name, a
    diagnosis) is shown with its control characters escaped, in the file and on stdout."""
    import dataclasses

    hostile = "x\x1b]8;;http://evil.example\x07click\x1b]8;;\x07\r\n## forged\x1b[2J\u202e"
    phases = tuple(
        dataclasses.replace(p, tiers=tuple(dataclasses.replace(t, name=hostile) for t in p.tiers))
        for p in run.phases
    )
    checks = tuple(dataclasses.replace(c, diagnosis=hostile) for c in run.checks)
    tampered = dataclasses.replace(
        run, warnings=(*run.warnings, hostile), phases=phases, checks=checks
    )
    directory = tmp_path / "run"
    write_reports(tampered, directory, ["json"])
    result = warmer("report", str(directory), "--format", "md", "--output", "-")
    assert result.returncode == 0, result.stderr
    written = warmer("report", str(directory), "--format", "md")
    assert written.returncode == 0, written.stderr
    for text in (result.stdout, (directory / "report.md").read_text()):
        assert not any(c in text for c in "\x1b\x07\r\u202e"), text
        assert "x1b" in text and "u202e" in text  # shown escaped
        assert "\n## forged" not in text
