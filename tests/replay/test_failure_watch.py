"""FailureWatch: a streak or a share of failed requests trips it; 5xx count, 4xx do not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_runner import run_warmer
from tests.replay.conftest import Uvicorn, records, write_jsonl
from warmer.errors import TargetFailedError
from warmer.replay import ReplayPlan, ResultsWriter, replay
from warmer.replay.faults import FailurePolicy, FailureWatch
from warmer.replay.results import make_row, rows_to_batch


def batch(outcomes: str, start: float = 0.0):  # type: ignore[no-untyped-def]
    """A results batch: ``.`` a 200, ``4`` a 404, ``5`` a 503, ``r`` refused, ``t`` timeout."""
    rows = []
    for i, o in enumerate(outcomes):
        status = {".": 200, "4": 404, "5": 503}.get(o)
        error = {"r": "refused", "t": "timeout"}.get(o)
        rows.append(
            make_row(
                seq=i, method="GET", target="/", key="/", sent_s=start + i * 0.01,
                latency_ms=None if error else 1.0, status=status,
                response_bytes=None if error else 0, error=error,
            )
        )  # fmt: skip
    return rows_to_batch(rows)


@pytest.mark.parametrize(
    ("batches", "after", "trips", "rule"),
    [
        (["rrr", "rr"], 5, True, "streak"),  # a streak carried across batches
        (["rrr", ".rr"], 5, False, None),  # broken by one answer
        (["rr.rrrrr."], 5, True, "streak"),  # the longest run inside a batch counts
        (["55555"], 5, True, "streak"),  # 5xx are failures
        (["44444"], 5, False, None),  # 4xx are answers
        (["tt5rr"], 5, True, "streak"),  # any mix of failures
        (["rrrrrrrr"], 0, False, None),  # 0 turns the streak rule off
    ],
)
def test_streak_rule(batches: list[str], after: int, trips: bool, rule: str | None) -> None:
    watch = FailureWatch(FailurePolicy(after=after, share=1.0))
    for b in batches:
        watch.add(batch(b))
    assert (watch.tripped is not None) == trips
    if watch.tripped is not None:
        assert watch.tripped.rule == rule


def test_share_rule_waits_for_a_full_window_then_trips_above_the_share() -> None:
    watch = FailureWatch(FailurePolicy(after=0, share=0.5, window=10))
    assert watch.add(batch(".r.r.r.r.")) is None  # 9 seen: not a full window yet
    assert watch.add(batch("r")) is None  # 5 of 10 failed: not more than half
    tripped = watch.add(batch("r"))  # the window slides past a ".": 6 of the last 10
    assert tripped is not None and tripped.rule == "share"
    assert (tripped.failed, tripped.seen) == (6, 10)
    assert tripped.kinds == {"refused": 6}
    assert tripped.describe() == "6 of the last 10 requests failed (refused 6)"


def test_describe_names_the_kinds_by_count() -> None:
    watch = FailureWatch(FailurePolicy(after=4, share=1.0))
    tripped = watch.add(batch("5rrt"))
    assert tripped is not None
    assert tripped.describe() == "4 requests in a row failed (refused 2, 5xx 1, timeout 1)"


@pytest.mark.parametrize("policy", [{"after": -1}, {"share": 0.0}, {"share": 1.5}, {"window": 0}])
def test_bad_policies_are_refused(policy: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FailurePolicy(**policy)  # type: ignore[arg-type]


def test_replay_stops_and_raises_when_the_target_keeps_failing(
    server: Uvicorn, tmp_path: Path
) -> None:
    recs = records(["/status/503"] * 2000)
    plan = ReplayPlan(target=server.url, pacing="rate", rate=400, fail_after=50, concurrency=4)
    with ResultsWriter(tmp_path / "r.parquet") as writer, pytest.raises(TargetFailedError) as info:
        replay(recs, plan, writer, phase="warm")
    assert "stopped working" in info.value.message and "into warm" in info.value.message
    assert "requests in a row failed (5xx" in info.value.message
    assert info.value.exit_code == 3
    # It stopped soon after the streak, far short of the 2,000 records; all were recorded.
    seen = server.stats()["seen"]["GET /status/503"]
    assert 50 <= seen < 2000
    assert writer.rows_written == seen


def test_replay_command_exits_3_and_keeps_the_results(server: Uvicorn, tmp_path: Path) -> None:
    sample = write_jsonl(tmp_path / "s.jsonl", records(["/status/500"] * 400))
    out = tmp_path / "r.parquet"
    result = run_warmer(
        "replay", str(sample), "--target", server.url, "--out", str(out), "--fail-after", "20"
    )
    assert result.returncode == 3, result.stderr
    assert "Error: the target at" in result.stderr
    assert re.search(r"\d+ requests in a row failed \(5xx", result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    assert out.exists() and not (tmp_path / "r.parquet.part").exists()
