"""The Locust engine: real master and worker subprocesses, never locust in this process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import psutil
import pytest

from tests.cli_runner import run_warmer
from tests.replay.conftest import Uvicorn, free_port, records, write_jsonl
from warmer.errors import RunError
from warmer.replay import (
    ReplayEvent,
    ReplayPlan,
    ReplayProgress,
    ResultsWriter,
    open_results,
    replay,
)
from warmer.replay.locust_engine import LocustOptions
from warmer.replay.locust_engine.sharding import KeyShards
from warmer.replay.run import replay_engine

pytestmark = pytest.mark.slow


def worker_pids() -> list[int]:
    """Our Locust worker processes (children of this test process)."""
    children = psutil.Process().children(recursive=True)
    return [p.pid for p in children if "--worker" in p.cmdline()]


def client_ports(pid: int, server_port: int) -> set[int]:
    """Local ports of ``pid``'s connections to the test app."""
    conns = psutil.Process(pid).net_connections(kind="tcp")
    return {c.laddr.port for c in conns if c.raddr and c.raddr.port == server_port}


def paths_by_worker(server: Uvicorn) -> dict[int, Counter[str]]:
    """What each live worker process asked the app for."""
    by_client = server.stats(detail=True)["by_client"]
    out: dict[int, Counter[str]] = {}
    for pid in worker_pids():
        ports = client_ports(pid, server.port)
        out[pid] = Counter(p for client, paths in by_client.items()
                           if int(client.rsplit(":", 1)[1]) in ports for p in paths)  # fmt: skip
    return out


def assignment(keys: Iterable[str], workers: int = 2) -> dict[str, int]:
    """Each key's worker, as the engine assigns them for requests in this order."""
    shards = KeyShards(workers)
    owners: dict[str, int] = {}
    for key in keys:
        owners.setdefault(key, shards.worker(key))
    return owners


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
    assert rows["/hit/1"]["cache_control"] == "public, max-age=60, s-maxage=30"
    assert rows["/hit/1"]["recorded_s"] in {r.ts for r in recs}
    assert rows["/hit/1"]["body_digest"] is not None
    assert rows["/hit/1"]["cache_status"] == "edge; hit; ttl=30, app; fwd=uri-miss"
    assert rows["/chunked"]["response_bytes"] == 6000
    assert sorted(r["seq"] for r in open_results(out).to_table(["seq"]).to_pylist()) == list(
        range(60)
    )
    assert "GET /hit/redirected" not in server.stats()["seen"]
    assert "locust" not in sys.modules and "gevent" not in sys.modules
    assert worker_pids() == []  # a replay without a session stops what it started


def test_each_key_goes_to_one_worker_in_recorded_order(server: Uvicorn, tmp_path: Path) -> None:
    paths = [f"/hit/k{i % 16}" for i in range(160)]
    plan = ReplayPlan(
        target=server.url, engine="locust", concurrency=8, locust=LocustOptions(workers=2)
    )
    out = tmp_path / "r.parquet"
    with replay_engine(plan) as engine, ResultsWriter(out) as writer:
        summary = replay(records(paths), plan, writer, engine=engine)
        seen = paths_by_worker(server)  # while the workers (and their connections) live
    assert summary.sent == 160 and len(seen) == 2
    owners = {path: [pid for pid, got in seen.items() if path in got] for path in set(paths)}
    assert all(len(pids) == 1 for pids in owners.values()), owners
    assert all(seen.values()), "both workers got keys"
    owners = assignment(f"GET {path}" for path in paths)
    for pid, got in seen.items():  # the key shards decided, nothing else
        assert len({owners[f"GET {path}"] for path in got}) == 1, (pid, got)
        assert sum(got.values()) == 10 * len(got), (pid, got)
    rows = open_results(out).to_table().to_pylist()
    for key in {r["key"] for r in rows}:
        mine = [r for r in rows if r["key"] == key]
        by_send = [r["seq"] for r in sorted(mine, key=lambda r: r["sent_s"])]
        assert by_send == sorted(by_send), key


def test_rate_pacing_is_one_schedule_across_workers(server: Uvicorn, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    plan = ReplayPlan(
        target=server.url, engine="locust", pacing="rate", rate=50.0, concurrency=4,
        locust=LocustOptions(workers=2),
    )  # fmt: skip
    with ResultsWriter(out) as writer:
        replay(records([f"/hit/p{i % 8}" for i in range(40)]), plan, writer)
    rows = sorted(open_results(out).to_table().to_pylist(), key=lambda r: r["seq"])
    assert [r["seq"] for r in rows] == list(range(40))
    zero = rows[0]["scheduled_s"]
    # Each worker sends its share at the global schedule's times: together, 50/s.
    assert all(abs(r["scheduled_s"] - zero - r["seq"] / 50) < 1e-6 for r in rows)
    assert set(assignment(r["key"] for r in rows).values()) == {0, 1}
    assert all(r["latency_from_schedule_ms"] is not None for r in rows)


def test_duration_cuts_the_schedule(server: Uvicorn, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    plan = ReplayPlan(
        target=server.url, engine="locust", pacing="rate", rate=20.0, duration_s=1.0,
        concurrency=2, locust=LocustOptions(workers=2),
    )  # fmt: skip
    with ResultsWriter(out) as writer:
        summary = replay(records([f"/hit/d{i % 5}" for i in range(200)]), plan, writer)
    scheduled = [r["scheduled_s"] for r in open_results(out).to_table().to_pylist()]
    assert 1 <= summary.sent == len(scheduled) <= 20
    assert max(scheduled) - min(scheduled) < 1.0


def test_locust_counts_refused(tmp_path: Path) -> None:
    plan = ReplayPlan(target=f"http://127.0.0.1:{free_port()}", engine="locust", concurrency=2)
    with ResultsWriter(tmp_path / "r.parquet") as writer:
        summary = replay(records(["/a"] * 5), plan, writer)
    assert summary.sent == 5 and summary.errors == {"refused": 5}


def test_no_module_of_warmer_imports_locust() -> None:
    code = (
        "import sys; from warmer.cli import main\n"
        "import warmer.cli.locust_worker, warmer.replay.locust_engine.engine\n"
        "import warmer.replay.locust_engine.phase, warmer.replay.locust_engine.worker\n"
        "assert 'locust' not in sys.modules and 'gevent' not in sys.modules, sorted(sys.modules)\n"
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


def test_late_worker_gets_no_work_from_the_phase_under_way(server: Uvicorn, tmp_path: Path) -> None:
    port = free_port()
    options = LocustOptions(workers=1, bind=f"127.0.0.1:{port}")
    plan = ReplayPlan(target=server.url, engine="locust", pacing="rate", rate=25.0,
                      concurrency=4, locust=options)  # fmt: skip
    late: subprocess.Popen[bytes] | None = None

    def start_late_worker(event: ReplayEvent) -> None:
        nonlocal late
        if late is None and isinstance(event, ReplayProgress) and event.sent >= 5:
            late = subprocess.Popen(
                [sys.executable, "-m", "warmer", "locust-worker", "--master", f"127.0.0.1:{port}"]
            )

    out = tmp_path / "r.parquet"
    try:
        with replay_engine(plan) as engine, ResultsWriter(out) as writer:
            first = replay(records([f"/hit/a{i % 10}" for i in range(250)]), plan, writer,
                           engine=engine, on_event=start_late_worker)  # fmt: skip
            assert late is not None
            late_pid = _locust_child(late.pid)
            during = paths_by_worker(server)
            assert _connected_to(late_pid, port), "the late worker joined during the phase"
            second = replay(records([f"/hit/b{i % 10}" for i in range(40)]), plan, writer,
                            engine=engine)  # fmt: skip
            after = paths_by_worker(server)
    finally:
        if late is not None:
            late.send_signal(signal.SIGTERM)
            late.wait(30)
    assert first.sent == 250 and second.sent == 40  # moving users to it lost nothing
    assert not during.get(late_pid), "no work from the phase already under way"
    assert any(p.startswith("/hit/b") for p in after[late_pid]), "work from the next phase"
    assert not any(p.startswith("/hit/a") for p in after[late_pid])


def _locust_child(supervisor: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for child in psutil.Process(supervisor).children():
            if "--worker" in child.cmdline():
                return child.pid
        time.sleep(0.1)
    raise AssertionError("warmer locust-worker started no Locust worker")


def _connected_to(pid: int, port: int) -> bool:
    conns = psutil.Process(pid).net_connections(kind="tcp")
    return any(c.raddr and c.raddr.port == port and c.status == "ESTABLISHED" for c in conns)


def test_a_lost_worker_is_a_run_error_with_what_it_never_sent(
    server: Uvicorn, tmp_path: Path
) -> None:
    paths = [f"/hit/x{i % 13}" for i in range(600)]
    plan = ReplayPlan(target=server.url, engine="locust", pacing="rate", rate=30.0,
                      concurrency=4, locust=LocustOptions(workers=2))  # fmt: skip
    killed: list[int] = []

    def kill_one(event: ReplayEvent) -> None:
        if not killed and isinstance(event, ReplayProgress) and event.sent >= 20:
            killed.append(worker_pids()[0])
            psutil.Process(killed[0]).kill()

    out = tmp_path / "r.parquet"
    with pytest.raises(RunError) as caught, ResultsWriter(out) as writer:
        replay(records(paths), plan, writer, on_event=kill_one)
    message = caught.value.message
    found = re.search(r"was lost during replay \(.*\): ([\d,]+) of its ([\d,]+) requests", message)
    assert found and "127.0.0.1" in message, message
    never, total = (int(g.replace(",", "")) for g in found.groups())
    owners = assignment(f"GET {p}" for p in paths)
    shard_sizes = Counter(owners[f"GET {p}"] for p in paths)
    answered = Counter(owners[r["key"]] for r in open_results(out).to_table().to_pylist())
    assert never > 0 and any(
        shard_sizes[w] == total and answered[w] + never == total for w in (0, 1)
    ), (answered, never, total, shard_sizes)
    assert worker_pids() == []  # the survivor and the master were stopped too


def test_waiting_for_workers_ends_in_exit_3_naming_the_master(
    server: Uvicorn, tmp_path: Path
) -> None:
    sample = write_jsonl(tmp_path / "s.jsonl", records(["/a"] * 3))
    port = free_port()
    done = run_warmer(
        "replay", str(sample), "--target", server.url, "--engine", "locust", "--workers", "0",
        "--expect-workers", "2", "--master-bind", f"127.0.0.1:{port}",
        "--workers-timeout", "1", "-o", str(tmp_path / "r.parquet"),
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert f"only 0 of 2 Locust workers joined the master at 127.0.0.1:{port} within 1 s" in (
        done.stderr
    )
    assert "warmer locust-worker --master" in done.stderr and "Traceback" not in done.stderr


def test_a_remote_worker_serves_one_run_after_another(server: Uvicorn, tmp_path: Path) -> None:
    sample = write_jsonl(tmp_path / "s.jsonl", records([f"/hit/{i % 7}" for i in range(50)]))
    port = free_port()
    worker = subprocess.Popen(
        [sys.executable, "-m", "warmer", "locust-worker", "--master", f"127.0.0.1:{port}"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for run in ("one", "two"):
            done = run_warmer(
                "replay", str(sample), "--target", server.url, "--engine", "locust",
                "--workers", "0", "--expect-workers", "1", "--master-bind",
                f"127.0.0.1:{port}", "-o", str(tmp_path / f"{run}.parquet"), "--json",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert open_results(tmp_path / f"{run}.parquet").num_rows == 50
    finally:
        worker.send_signal(signal.SIGTERM)
        _, narrative = worker.communicate(timeout=30)
    assert worker.returncode == 0, narrative
    assert narrative.count("serving the master at") >= 2 and "stopped" in narrative


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--workers", "2", "--expect-workers", "1"), "fewer than the 2 local workers"),
        (("--master-bind", "host:port"), "cannot read --master-bind"),
        (("--workers", "0"), "no workers to wait for"),
    ],
)
def test_impossible_layouts_exit_2_before_anything_starts(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    sample = write_jsonl(tmp_path / "s.jsonl", records(["/a"]))
    done = run_warmer(
        "replay", str(sample), "--target", "http://127.0.0.1:9", "--engine", "locust", *args
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_locust_worker_refuses_a_bad_master() -> None:
    done = run_warmer("locust-worker", "--master", "10.0.0.1:http")
    assert done.returncode == 2 and "cannot read --master '10.0.0.1:http'" in done.stderr
    # A container sets it in the environment instead.
    done = run_warmer("locust-worker", env={"WARMER_LOCUST_WORKER_MASTER": "h:99999"})
    assert done.returncode == 2 and "cannot read --master 'h:99999'" in done.stderr


def test_ctrl_c_in_the_terminal_stops_the_run_cleanly(server: Uvicorn, tmp_path: Path) -> None:
    """SIGINT to the whole process group (a terminal's Ctrl-C) reaches warmer alone: the
    workers must not quit mid-phase and be reported lost."""
    sample = write_jsonl(tmp_path / "s.jsonl", records(["/hit/c"] * 400))
    out = tmp_path / "r.parquet"
    proc = subprocess.Popen(
        [sys.executable, "-m", "warmer", "replay", str(sample), "--target", server.url,
         "--engine", "locust", "--workers", "2", "--pacing", "rate", "--rate", "20",
         "--no-progress", "-o", str(out)],
        start_new_session=True, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(4.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr
    assert "replay stopped after" in stderr and "lost" not in stderr
    assert 0 < open_results(out).num_rows < 400
