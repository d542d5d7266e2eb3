"""`warmer gate --timings FILE`: the run's own phase timestamps, for the overhead benchmark."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import run_warmer
from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.model.sample import SampleMeta
from warmer.sample.store import SampleWriter, open_sample

DEMO_SAMPLE = Path(__file__).parents[2] / "traffic_samples" / "demo.jsonl.gz"
ORDER = (
    "command",
    "prepared",
    "warm_start",
    "warm_end",
    "settle_start",
    "verify_start",
    "verify_end",
    "finished",
)


@pytest.fixture(scope="module")
def candidate() -> Iterator[CandidateServer]:
    with CandidateServer(CandidateSettings(backend_latency_ms=2, backend_jitter_ms=1)) as server:
        yield server


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "small.jsonl.gz"
    table = open_sample(DEMO_SAMPLE).to_table().slice(0, 400)
    with SampleWriter(path) as writer:
        writer.write_batch(table)
        writer.close(SampleMeta(requests=table.num_rows))
    return path


def gate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_warmer("gate", *args, cwd=cwd)


def test_timings_file_holds_every_phase_in_order(
    tmp_path: Path, candidate: CandidateServer, sample: Path
) -> None:
    timings = tmp_path / "timings.json"
    args = ["--target", candidate.url, "--sample", str(sample), "--settle", "0.1"]
    args += ["--run-dir", str(tmp_path / "run"), "--timings", str(timings)]
    result = gate(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(timings.read_text())
    marks = [document["marks"][name] for name in ORDER]
    assert marks == sorted(marks)
    assert set(document["replay_s"]) == {"warm", "verify"}
    span = marks[-1] - marks[0]
    assert all(0 < seconds <= span for seconds in document["replay_s"].values())


def test_no_timings_file_unless_asked(
    tmp_path: Path, candidate: CandidateServer, sample: Path
) -> None:
    args = ["--target", candidate.url, "--sample", str(sample), "--settle", "0"]
    result = gate(*args, "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
