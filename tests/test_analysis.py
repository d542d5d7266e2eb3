"""warmer.analysis: a real run directory as DataFrames (written by a real gate run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import run_warmer
from warmer.analysis import load_run, timelines_frame
from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.services import RedisServer
from warmer.errors import InputError

DEMO_SAMPLE = Path(__file__).parent.parent / "traffic_samples" / "demo.jsonl.gz"


@pytest.mark.slow
def test_a_gate_run_loads_as_dataframes(tmp_path: Path, redis_tcp: RedisServer) -> None:
    settings = CandidateSettings(l2_url=redis_tcp.url, backend_latency_ms=1, backend_jitter_ms=0)
    with CandidateServer(settings) as candidate:
        (tmp_path / "warmer.toml").write_text(
            f'[tiers.l0]\nsource = "cache-status"\ncache = "l0"\n'
            f'[tiers.l2]\nsource = "redis"\nurl = "{redis_tcp.url}"\n'
            "[observe]\ninterval_s = 0.2\n"
        )
        run_dir = tmp_path / "run"
        args = ["gate", "--target", candidate.url, "--sample", str(DEMO_SAMPLE)]
        args += ["--run-dir", str(run_dir), "--settle", "0.2", "--check", "hit_rate.l0 >= 0.1"]
        result = run_warmer(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = load_run(run_dir)
    assert run.report.verdict == "pass"
    # One row per request, both phases, as many as the report counts.
    by_phase = run.results.groupby("phase").size().to_dict()
    assert by_phase == {p.name: p.requests for p in run.report.phases}
    assert run.results["latency_ms"].notna().mean() > 0.99
    # The observer readings in long form: L2 was read while traffic flowed.
    l2 = run.timelines[run.timelines["source"] == "l2"]
    assert len(l2) >= 3 and l2["answered"].all() and l2["hits"].is_monotonic_increasing
    assert set(run.timelines["label"].dropna()) >= {"warm_start", "verify_end"}
    assert run.sample is not None and set(run.sample["phase"]) == {"warm", "verify"}
    assert run.metrics["hit_rate.l0"] == run.report.checks[0].observed
    narrow = load_run(run_dir, columns=["key", "status"])
    assert list(narrow.results.columns) == ["key", "status"]


def test_timelines_frame_keeps_unanswered_readings() -> None:
    frame = timelines_frame(
        [
            {"t": 0.0, "label": "warm_start", "sources": {"l1": {"hits": 1}, "l2": None}},
            {"t": 1.0, "label": None, "sources": {"l1": {"hits": 5}}},
        ]
    )
    assert frame[["t", "source", "answered"]].values.tolist() == [
        [0.0, "l1", True],
        [0.0, "l2", False],
        [1.0, "l1", True],
    ]
    assert list(timelines_frame([]).columns) == ["t", "label", "source", "answered"]


def test_not_a_run_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_run(tmp_path)


def test_the_cli_never_imports_pandas_for_help() -> None:
    code = "import sys, warmer.cli.main; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
