"""Faults are counted by kind and the run goes on; a dead target fails fast."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.replay.conftest import Resetter, Uvicorn, free_port, records
from warmer.errors import ExitCode, TargetUnreachableError
from warmer.replay import (
    ReplayEvent,
    ReplayPlan,
    ReplayProgress,
    ResultsWriter,
    check_target,
    replay,
)


def _replay(tmp_path: Path, recs: list, target: str, **plan: object):  # type: ignore[no-untyped-def]
    with ResultsWriter(tmp_path / "r.parquet") as writer:
        return replay(recs, ReplayPlan(target=target, **plan), writer)  # type: ignore[arg-type]


def test_refused_requests_are_counted_with_bounded_retries(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    summary = _replay(tmp_path, records(["/a"] * 20), url, retries=1, concurrency=4)
    assert summary.sent == 20 and summary.errors == {"refused": 20}


def test_resets_are_counted(resetter: Resetter, tmp_path: Path) -> None:
    summary = _replay(tmp_path, records(["/a"] * 10), f"http://127.0.0.1:{resetter.port}")
    assert summary.sent == 10 and summary.errors == {"reset": 10}


def test_timeouts_are_counted_and_the_run_goes_on(server: Uvicorn, tmp_path: Path) -> None:
    recs = records(["/slow?s=5", "/hit/1", "/hit/2"])
    summary = _replay(tmp_path, recs, server.url, timeout_s=0.5, concurrency=2)
    assert summary.errors == {"timeout": 1} and summary.status_classes == {"2xx": 2}


def test_target_dying_mid_run(tmp_path: Path) -> None:
    app = Uvicorn()
    killed = threading.Event()

    def kill_after_some(event: ReplayEvent) -> None:
        if isinstance(event, ReplayProgress) and event.sent >= 40 and not killed.is_set():
            killed.set()
            app.proc.kill()
            app.proc.wait()

    try:
        with ResultsWriter(tmp_path / "r.parquet") as writer:
            # fail_after=0: this test counts what a dead target does to a run that goes on.
            plan = ReplayPlan(
                target=app.url, pacing="rate", rate=50.0, retries=1, concurrency=4, fail_after=0
            )
            summary = replay(
                records([f"/hit/{i}" for i in range(150)]), plan, writer, on_event=kill_after_some
            )
    finally:
        app.stop()
    assert killed.is_set()
    assert summary.sent == 150
    assert summary.status_classes["2xx"] >= 40
    assert summary.errors.get("refused", 0) + summary.errors.get("reset", 0) > 0
    assert summary.status_classes["2xx"] + sum(summary.errors.values()) == 150


def test_check_target_names_the_address(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(TargetUnreachableError, match=f"127.0.0.1:{port}") as info:
        check_target(f"http://127.0.0.1:{port}", 2.0)
    assert info.value.exit_code == ExitCode.RUN_ERROR
    with pytest.raises(TargetUnreachableError, match="unix:"):
        check_target("http+unix://" + str(tmp_path / "none.sock").replace("/", "%2F"))


def test_check_target_accepts_a_listening_server(server: Uvicorn, unix_server: Uvicorn) -> None:
    check_target(server.url)
    check_target(unix_server.url)


def test_stop_event_ends_the_replay_early(server: Uvicorn, tmp_path: Path) -> None:
    stop = threading.Event()

    def stop_soon(event: ReplayEvent) -> None:
        if isinstance(event, ReplayProgress) and event.sent >= 5:
            stop.set()

    with ResultsWriter(tmp_path / "r.parquet") as writer:
        plan = ReplayPlan(target=server.url, pacing="rate", rate=20.0)
        summary = replay(records(["/hit/1"] * 500), plan, writer, on_event=stop_soon, stop=stop)
    assert summary.interrupted and 5 <= summary.sent < 500


def test_not_http_is_a_protocol_error(garbler: Resetter, tmp_path: Path) -> None:
    summary = _replay(tmp_path, records(["/a"] * 3), f"http://127.0.0.1:{garbler.port}")
    assert summary.errors == {"protocol": 3}


def test_dropped_keep_alive_connections_are_reopened_without_errors(
    one_shot: Resetter, tmp_path: Path
) -> None:
    summary = _replay(
        tmp_path, records(["/a"] * 30), f"http://127.0.0.1:{one_shot.port}", concurrency=1
    )
    assert summary.errors == {} and summary.status_classes == {"2xx": 30}
    assert one_shot.connections == 30


def test_keep_alive_reuses_connections(server: Uvicorn, tmp_path: Path) -> None:
    summary = _replay(tmp_path, records(["/hit/k"] * 50), server.url, concurrency=2)
    assert summary.status_classes == {"2xx": 50}
    assert server.stats()["connections"] <= 2  # one keep-alive connection per slot


def test_error_responses_are_never_retried(server: Uvicorn, tmp_path: Path) -> None:
    summary = _replay(tmp_path, records(["/status/503"] * 5), server.url, retries=3)
    assert summary.status_classes == {"5xx": 5}
    assert server.stats()["seen"]["GET /status/503"] == 5
