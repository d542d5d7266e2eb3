"""The CLI group: version, help, and exit codes chosen in one place."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import run_warmer

run = run_warmer


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert "warmer, version" in result.stdout


def test_help_lists_pipeline_and_exit_codes() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "sample -> replay -> observe -> gate -> report" in result.stdout
    assert "130 interrupted" in result.stdout


def test_unknown_command_is_usage_error() -> None:
    assert run("frobnicate").returncode == 2


def test_bad_config_file_is_exit_2_with_field_path(tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text("[replay]\nconcurrency = 'lots'\n")
    result = run("sample", "inspect", "nothing.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert "replay.concurrency" in result.stderr
    assert "Traceback" not in result.stderr
