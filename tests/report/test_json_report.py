"""The JSON report: golden file, round trip, and the loader's errors (exit 2 with a hint)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report.golden import assert_golden
from warmer.errors import ExitCode, InputError
from warmer.model.run import RunReport
from warmer.report import load_report, parse_report, render_json, write_reports


def test_json_matches_golden(run: RunReport) -> None:
    assert_golden("report.json", render_json(run))


def test_json_round_trips(run: RunReport) -> None:
    assert parse_report(render_json(run)) == run


def test_json_is_strict_json(run: RunReport) -> None:
    text = render_json(run)
    json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard constant {name}"))
    assert text.endswith("}\n")


def test_load_report_from_run_dir_and_file(run: RunReport, tmp_path: Path) -> None:
    write_reports(run, tmp_path, ["json"])
    assert load_report(tmp_path) == run
    assert load_report(tmp_path / "report.json") == run


@pytest.mark.parametrize(
    ("content", "message", "hint"),
    [
        ("", "not valid JSON", "re-run the gate"),
        ("{truncated", "not valid JSON", "re-run the gate"),
        ("[1, 2]", "not a warmer report", None),
        ('{"schema_version": 99, "run_id": "x"}', "newer than this warmer", "upgrade warmer"),
        ('{"run_id": "x"}', "schema_version", "re-run the gate"),
        (
            '{"schema_version": 1, "run_id": "x", "verdict": "pass", "exit_code": "0"}',
            "exit_code",
            "re-run the gate",
        ),
    ],
)
def test_load_report_rejects_garbage(
    tmp_path: Path, content: str, message: str, hint: str | None
) -> None:
    (tmp_path / "report.json").write_text(content)
    with pytest.raises(InputError, match=message) as info:
        load_report(tmp_path)
    assert info.value.exit_code == ExitCode.USAGE
    if hint:
        assert hint in (info.value.hint or "")


def test_load_report_missing_file_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        load_report(tmp_path)
    assert "warmer gate" in (info.value.hint or "")


def test_load_report_undecodable_bytes(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="cannot read"):
        load_report(tmp_path)
