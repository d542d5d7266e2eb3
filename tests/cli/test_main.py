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
    result = run("replay", "nothing.jsonl", "--target", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2
    assert "replay.concurrency" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_command_checks_only_the_sections_it_reads(tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text(
        '[gate]\nchecks = ["hit_rate.l0 => 0.9"]\n'
        '[replay]\ntarget = "${UNSET_CANDIDATE_URL}"\n'
        "[sample]\nwarm_fraction = 0.5\n"
        '[tiers.l0]\nsource = "cache-status"\ncache = "l0"\n'
    )
    sample = Path(__file__).parents[2] / "traffic_samples" / "demo.jsonl.gz"
    # inspect reads [sample] only: the broken [gate] and [replay] are not its concern ...
    inspected = run("sample", "inspect", str(sample), "--json", cwd=tmp_path)
    assert inspected.returncode == 0, inspected.stderr
    assert '"warm_fraction": 0.5' in inspected.stdout  # ... and [sample] still applies
    observed = run("observe", cwd=tmp_path)
    assert observed.returncode == 0, observed.stderr
    # The gate reads them all: the bad check is exit 2 with its path and column.
    unset = run("gate", "--dry-run", "--sample", str(sample), cwd=tmp_path)
    assert unset.returncode == 2 and "UNSET_CANDIDATE_URL is not set" in unset.stderr
    env = {"UNSET_CANDIDATE_URL": "http://127.0.0.1:9"}
    gated = run("gate", "--dry-run", "--sample", str(sample), cwd=tmp_path, env=env)
    assert gated.returncode == 2 and "gate.checks[0]" in gated.stderr
    # A misspelt section is an error for every command.
    (tmp_path / "warmer.toml").write_text("[gaet]\nsettle_s = 1\n")
    assert run("sample", "inspect", str(sample), cwd=tmp_path).returncode == 2
