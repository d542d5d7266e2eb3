"""``write_reports`` and the reporter registry: files, names, atomicity, errors."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import pytest

from warmer.errors import InputError, UsageError
from warmer.model.run import RunReport
from warmer.report import FORMATS, REPORTERS, get_reporter, render_json, write_reports
from warmer.report.interface import Reporter


def test_registry_names_formats_and_files() -> None:
    assert FORMATS == ("json", "md", "html", "junit")
    assert {r.filename for r in REPORTERS.values()} == {
        "report.json",
        "report.md",
        "report.html",
        "junit.xml",
    }
    assert all(r.format == name for name, r in REPORTERS.items())


def test_reporters_render_text(run: RunReport) -> None:
    for reporter in REPORTERS.values():
        typed: Reporter = reporter
        assert typed.render(run).strip()


def test_write_reports_writes_each_format_once(run: RunReport, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "run"
    paths = write_reports(run, target, ["md", "junit", "md"])
    assert paths == {"md": target / "report.md", "junit": target / "junit.xml"}
    assert sorted(p.name for p in target.iterdir()) == ["junit.xml", "report.md"]  # no temp files
    mode = stat.S_IMODE((target / "report.md").stat().st_mode)
    assert mode & 0o044 == 0o044  # readable by the CI user that uploads artifacts


def test_write_reports_replaces_existing_files(run: RunReport, tmp_path: Path) -> None:
    (tmp_path / "report.md").write_text("stale")
    write_reports(run, tmp_path, ["md"])
    assert (tmp_path / "report.md").read_text().startswith("## warmer gate")


def test_unknown_format_is_a_usage_error(run: RunReport, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="pdf") as info:
        write_reports(run, tmp_path, ["pdf"])
    assert "json, md, html, junit" in (info.value.hint or "")
    with pytest.raises(UsageError):
        get_reporter("xml")


def test_unwritable_directory_is_an_input_error(run: RunReport, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create"):
        write_reports(run, blocker / "run", ["md"])


def test_json_survives_values_json_cannot_hold(run: RunReport) -> None:
    odd = dataclasses.replace(run, config={"sample": Path("/tmp/s.parquet"), "ratio": float("nan")})
    data = json.loads(render_json(odd))
    assert data["config"] == {"sample": "/tmp/s.parquet", "ratio": None}
