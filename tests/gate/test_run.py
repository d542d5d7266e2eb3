"""The gate as a library (no CLI): prepare + run_gate against a real candidate and Redis."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from warmer.config import config_from_tree
from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.services import RedisServer
from warmer.gate import GateOptions, build_observation, prepare, run_gate
from warmer.gate.run import PhaseStarted
from warmer.model.sample import SampleMeta, SampleRecord
from warmer.replay.engine import Job, Sink
from warmer.replay.results import ResultsWriter, make_row, open_results
from warmer.replay.run import ReplayFinished, ReplayPlan, replay
from warmer.sample.store import SampleWriter, open_sample

DEMO_SAMPLE = Path(__file__).parents[2] / "traffic_samples" / "demo.jsonl.gz"


@pytest.fixture
def stack(redis_tcp: RedisServer) -> Iterator[tuple[CandidateServer, RedisServer]]:
    settings = CandidateSettings(
        l0_capacity=0, l2_url=redis_tcp.url, backend_latency_ms=1, backend_jitter_ms=0
    )
    with CandidateServer(settings) as candidate:
        yield candidate, redis_tcp


def test_run_gate_with_a_redis_tier(
    tmp_path: Path, stack: tuple[CandidateServer, RedisServer]
) -> None:
    candidate, redis = stack
    sample = tmp_path / "s.jsonl"
    table = open_sample(DEMO_SAMPLE).to_table().slice(0, 2000)
    writer = SampleWriter(sample)
    writer.write_batch(table)
    writer.close(SampleMeta(requests=table.num_rows))
    config = config_from_tree(
        {
            "tiers": {"l2": {"source": "redis", "url": redis.url}},
            "backend": {
                "source": "prometheus",
                "url": candidate.metrics_url,
                "requests": "candidate_backend_requests_total",
            },
            "gate": {"settle_s": 0.2},
            "observe": {"interval_s": 0.2},
        }
    )
    checks = (
        "hit_rate.l2 >= 0.3",
        "warm.hit_rate.l2 < 0.99",
        "l2.keys > 10",
        "backend.offload > 0.2",
    )
    options = GateOptions(
        config=config, sample=sample, target=candidate.url, checks=checks, run_dir=tmp_path / "run"
    )
    events: list[Any] = []
    prepared = prepare(options, profile=False)
    assert not prepared.profiled
    result = run_gate(prepared, build_observation(config), on_event=events.append)
    assert result.report.ceilings.warmable is not None
    started = [e.phase for e in events if isinstance(e, PhaseStarted)]
    assert started == ["warm", "settle", "verify"]
    assert [e.summary.phase for e in events if isinstance(e, ReplayFinished)] == ["warm", "verify"]
    assert [o.status for o in result.outcomes] == ["pass"] * 6, result.outcomes
    # The two built-in checks: neither phase may skip more than gate.max_skip_rate.
    assert [o.check.text for o in result.outcomes[4:]] == [
        "warm.skipped.rate <= 5%",
        "skipped.rate <= 5%",
    ]
    assert [s.name for s in result.report.steps] == [
        "preflight",
        "tiers",
        "warm",
        "settle",
        "tiers-warm",
        "verify",
        "predict",
    ]
    assert all(s.status == "ok" for s in result.report.steps)
    verify = result.report.verify
    assert verify is not None
    l2 = verify.tier("l2")
    assert l2 is not None and l2.lookups and l2.keys and l2.hit_rate is not None
    assert verify.backend.requests is not None and verify.backend.consistent is not None
    assert result.exit_code == 0
    assert (tmp_path / "run" / "timelines.json").stat().st_size > 100


class _AnswerAll:
    """A replay engine that answers every job at once (the seq numbering is under test)."""

    name = "answer-all"

    def run(self, jobs: Iterator[Job], settings: Any, sink: Sink, stop: threading.Event) -> None:
        for job in jobs:
            req = job.request
            sink.add(
                make_row(seq=job.seq, phase=sink.phase, method=req.method, target=req.path,
                         key=req.key, sent_s=0.0, latency_ms=1.0, status=200, response_bytes=0,
                         cache_status="l0; hit")
            )  # fmt: skip
        sink.tick()


def test_seq_runs_across_the_phases_of_one_results_file(tmp_path: Path) -> None:
    records = [SampleRecord(float(i), "GET", f"/{i}", f"/{i}") for i in range(3)]
    plan = ReplayPlan(target="http://127.0.0.1:9", pacing="max")
    with ResultsWriter(tmp_path / "r.parquet") as writer:
        for phase in ("warm", "verify"):
            replay(records, plan, writer, phase=phase, engine=_AnswerAll())
    rows = open_results(tmp_path / "r.parquet").to_table(["seq", "phase"]).to_pylist()
    by_seq = sorted(rows, key=lambda row: row["seq"])
    assert [row["seq"] for row in by_seq] == list(range(6))
    assert [row["phase"] for row in by_seq] == ["warm"] * 3 + ["verify"] * 3
