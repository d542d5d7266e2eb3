"""replay() with an in-memory engine: jobs, shards, skips and the summary, no network."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replay.conftest import records
from warmer.errors import UnsafeTargetError
from warmer.model.sample import SampleRecord
from warmer.replay import (
    ReplayEvent,
    ReplayPlan,
    ReplayStarted,
    ReplaySummary,
    ResultsWriter,
    open_results,
    replay,
)
from warmer.replay.engine import EngineSettings, Job, Sink
from warmer.replay.results import make_row


class FakeEngine:
    """Answers every job at once with 200 (or an error for paths containing 'err')."""

    name = "fake"

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def run(
        self, jobs: Iterator[Job], settings: EngineSettings, sink: Sink, stop: threading.Event
    ) -> None:
        for job in jobs:
            self.jobs.append(job)
            req = job.request
            failed = "err" in req.path
            sink.add(
                make_row(seq=job.seq, phase=sink.phase, method=req.method, target=req.path,
                         key=req.key, recorded_s=job.recorded, scheduled_s=job.due,
                         sent_s=job.due or 0.0, latency_ms=None if failed else 1.0,
                         status=None if failed else 200, response_bytes=None if failed else 2,
                         error="reset" if failed else None, x_cache="HIT")
            )  # fmt: skip
            sink.tick()


def _run(
    tmp_path: Path, plan: ReplayPlan, recs: list[SampleRecord]
) -> tuple[FakeEngine, ReplaySummary]:
    fake = FakeEngine()
    with ResultsWriter(tmp_path / "r.parquet") as writer:
        summary = replay(recs, plan, writer, engine=fake, phase="p")
    return fake, summary


def test_jobs_carry_sequence_schedule_and_prepared_request(tmp_path: Path) -> None:
    plan = ReplayPlan(target="http://c:81/pre", pacing="rate", rate=10.0)
    fake, summary = _run(tmp_path, plan, records(["/a", "/err", "/b"]))
    assert [j.seq for j in fake.jobs] == [0, 1, 2]
    dues = [j.due for j in fake.jobs]
    assert dues[1] - dues[0] == pytest.approx(0.1) and dues[2] - dues[0] == pytest.approx(0.2)
    assert fake.jobs[0].request.path == "/pre/a"
    assert summary.sent == 3 and summary.errors == {"reset": 1}
    assert summary.status_classes == {"2xx": 2}
    assert open_results(tmp_path / "r.parquet").meta["runs"][0]["phase"] == "p"


@pytest.mark.parametrize(("index", "expected"), [(0, [0, 2, 4]), (1, [1, 3])])
def test_shards_take_every_nth_request_at_a_share_of_the_rate(
    tmp_path: Path, index: int, expected: list[int]
) -> None:
    plan = ReplayPlan(target="http://c", pacing="rate", rate=10.0, shard=(index, 2))
    recs = records(["/a", "/b", "/c", "/d", "/e"]) + records(["/p"], method="POST")
    fake, summary = _run(tmp_path, plan, recs)
    assert [j.seq for j in fake.jobs] == expected
    assert fake.jobs[1].due - fake.jobs[0].due == pytest.approx(0.2)  # type: ignore[operator]
    assert summary.skipped == ({"method": 1} if index == 0 else {})


def test_max_pacing_has_no_schedule_and_events_report_expected(tmp_path: Path) -> None:
    events: list[ReplayEvent] = []
    fake = FakeEngine()
    with ResultsWriter(tmp_path / "r.parquet") as writer:
        replay(records(["/a"] * 4), ReplayPlan(target="http://c", limit=3), writer,
               engine=fake, on_event=events.append, expected=4)  # fmt: skip
    assert [j.due for j in fake.jobs] == [None, None, None]
    started = events[0]
    assert isinstance(started, ReplayStarted) and started.expected == 3


def test_protected_target_is_refused_before_any_job(tmp_path: Path) -> None:
    plan = ReplayPlan(
        target="https://www.prod.example.com", protected_hosts=("*.prod.example.com",)
    )
    with pytest.raises(UnsafeTargetError):
        _run(tmp_path, plan, records(["/a"]))


def test_limit_counts_requests_sent_not_records_skipped(tmp_path: Path) -> None:
    records = [
        SampleRecord(float(i), "POST" if i % 2 else "GET", f"/{i}", f"/{i}") for i in range(40)
    ]
    plan = ReplayPlan(target="http://127.0.0.1:9", pacing="max", limit=10)
    _, summary = _run(tmp_path, plan, records)
    assert summary.sent == 10  # ten GETs, although 19 records were read to find them
    assert summary.skipped == {"method": 9}
    rows = open_results(tmp_path / "r.parquet").to_table(["target"]).column("target")
    assert sorted(rows.to_pylist(), key=lambda t: int(t[1:])) == [f"/{i}" for i in range(0, 20, 2)]
