"""The Locust engine: real master and worker subprocesses, never locust in this process."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.replay.conftest import Uvicorn, free_port, records
from warmer.replay import (
    ReplayEvent,
    ReplayPlan,
    ReplayProgress,
    ResultsWriter,
    open_results,
    replay,
)
from warmer.replay.locust_engine import LocustOptions

pytestmark = pytest.mark.slow


def test_locust_replays_and_records_every_response(server: Uvicorn, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    recs = records(["/hit/1", "/chunked", "/redirect-same"] * 20)
    plan = ReplayPlan(
        target=server.url, engine="locust", concurrency=4, locust=LocustOptions(workers=2)
    )
    with ResultsWriter(out) as writer:
        summary = replay(recs, plan, writer, phase="warm")
    assert summary.sent == 60 and summary.status_classes == {"2xx": 40, "3xx": 20}
    rows = {row["target"]: row for row in open_results(out).to_table().to_pylist()}
    assert rows["/hit/1"]["x_cache"] == "HIT" and rows["/hit/1"]["phase"] == "warm"
    assert rows["/chunked"]["response_bytes"] == 6000
    assert sorted(r["seq"] for r in open_results(out).to_table(["seq"]).to_pylist()) == list(
        range(60)
    )
    assert "GET /hit/redirected" not in server.stats()["seen"]
    assert "locust" not in sys.modules and "gevent" not in sys.modules


def test_locust_counts_refused(tmp_path: Path) -> None:
    plan = ReplayPlan(target=f"http://127.0.0.1:{free_port()}", engine="locust", concurrency=2)
    with ResultsWriter(tmp_path / "r.parquet") as writer:
        summary = replay(records(["/a"] * 5), plan, writer)
    assert summary.sent == 5 and summary.errors == {"refused": 5}


def test_cli_imports_no_locust() -> None:
    code = (
        "import sys; from warmer.cli import main\n"
        "import warmer.replay.locust_engine\n"
        "assert 'locust' not in sys.modules and 'gevent' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_locust_stops_when_asked_and_keeps_what_was_sent(server: Uvicorn, tmp_path: Path) -> None:
    stop = threading.Event()

    def stop_soon(event: ReplayEvent) -> None:
        if isinstance(event, ReplayProgress) and event.sent >= 5:
            stop.set()

    out = tmp_path / "r.parquet"
    plan = ReplayPlan(target=server.url, engine="locust", pacing="rate", rate=20.0, concurrency=2)
    with ResultsWriter(out) as writer:
        summary = replay(records(["/hit/s"] * 400), plan, writer, on_event=stop_soon, stop=stop)
    assert summary.interrupted and 5 <= summary.sent < 400
    assert open_results(out).num_rows == summary.sent
