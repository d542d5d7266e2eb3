"""The Locust engine across hosts: master and workers in two network namespaces.

The master (``warmer replay`` or ``warmer gate``) and the reference candidate run in one
namespace, two ``warmer locust-worker`` processes in the other; a veth pair is the only
link, so the traffic crosses it exactly as it would cross a network between machines.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import require
from tests.replay.netns import MASTER_IP, WORKERS_IP, Topology, unavailable
from warmer.demo.scenarios import DemoStack, bundled_config, bundled_sample, scenario
from warmer.demo.services import find_redis_server
from warmer.observe.headers import HeaderRule, header_counts
from warmer.replay import open_results, stream_records
from warmer.replay.safety import SAFE_METHODS, RequestPolicy
from warmer.replay.target import parse_target
from warmer.sample.store import open_sample

pytestmark = pytest.mark.slow

RATE = "800"
"""Requests/s both engines keep up with on a loaded 2-core machine: the comparison is of
the same schedule, not of how far behind each engine fell."""
PORT = 5771
REMOTE_WORKERS = ["--engine", "locust", "--workers", "0", "--expect-workers", "2",
                  "--master-bind", f"{MASTER_IP}:{PORT}"]  # fmt: skip
"""The master side's options: no local workers, two from the other namespace."""


@pytest.fixture
def topology() -> Iterator[Topology]:
    require(shutil.which("ip"), "ip (iproute2)")
    why = unavailable()
    if why is not None:
        pytest.skip(why)
    require(find_redis_server(), "redis-server")
    if bundled_sample() is None:
        pytest.skip("the bundled sample ships with the source checkout only")
    with Topology() as topo:
        yield topo


def healthy_stack_in(topo: Topology, tmp: Path) -> DemoStack:
    """The healthy demo stack inside the master namespace, its candidate on the veth address."""
    spec = scenario("healthy")
    spec = dataclasses.replace(spec, candidate=spec.candidate.replace(host=MASTER_IP))
    with topo.inside(topo.master):
        return spec.start(tmp)


def start_workers(topo: Topology) -> list[subprocess.Popen[str]]:
    """Two load machines' ``warmer locust-worker`` in the workers namespace."""
    command = [sys.executable, "-m", "warmer", "locust-worker", "--master", f"{MASTER_IP}:{PORT}"]
    return [
        subprocess.Popen(
            topo.exec_in(topo.workers, command), stderr=subprocess.PIPE, text=True, env=_clean_env()
        )
        for _ in range(2)
    ]


def stop(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.communicate(timeout=30)


def replay_cmd(target: str, out: Path, *extra: str) -> list[str]:
    sample = str(bundled_sample())
    return [
        sys.executable,
        "-m",
        "warmer",
        "replay",
        sample,
        "--target",
        target,
        "-o",
        str(out),
        "--concurrency",
        "32",
        "--pacing",
        "rate",
        "--rate",
        RATE,
        "--no-progress",
        *extra,
    ]


def tier_counts(path: Path) -> dict[str, tuple[int, int]]:
    table = open_results(path).to_table()
    counts = {t: header_counts(table, HeaderRule(t, "cache-status", cache=t)) for t in TIERS}
    return {t: (c.hits, c.misses) for t, c in counts.items()}


TIERS = ("l0", "l1", "l2")


def test_master_and_two_workers_across_namespaces_match_the_single_machine_engine(
    topology: Topology, tmp_path: Path
) -> None:
    with scenario("healthy").start(tmp_path / "reference-stack") as reference:
        single = subprocess.run(
            replay_cmd(reference.target, tmp_path / "single.parquet"),
            capture_output=True,
            text=True,
            env=_clean_env(),
        )
    assert single.returncode == 0, single.stderr

    stack = healthy_stack_in(topology, tmp_path / "stack")
    workers = start_workers(topology)
    try:
        out = tmp_path / "spread.parquet"
        command = replay_cmd(stack.target, out, *REMOTE_WORKERS)
        spread = subprocess.run(
            topology.exec_in(topology.master, command),
            capture_output=True,
            text=True,
            env=_clean_env(),
        )
    finally:
        stop(workers)
        stack.stop()
    assert spread.returncode == 0, spread.stderr

    # No request lost or duplicated: every key as often as the sample asks for it.
    rows = open_results(out).to_table(["seq", "key"]).to_pylist()
    assert sorted(r["seq"] for r in rows) == list(range(len(rows)))
    assert Counter(r["key"] for r in rows) == expected_keys(stack.target)

    # Per tier, hits and misses within 0.5 % of that tier's lookups of the single machine's.
    ours, theirs = tier_counts(out), tier_counts(tmp_path / "single.parquet")
    for tier in TIERS:
        lookups = sum(theirs[tier])
        assert lookups > 1000, (tier, theirs)
        for got, want in zip(ours[tier], theirs[tier], strict=True):
            assert abs(got - want) <= 0.005 * lookups, (tier, ours[tier], theirs[tier])


def expected_keys(target: str) -> Counter[str]:
    """What the sample holds that a replay sends (safe methods, valid targets), per key."""
    policy = RequestPolicy(parse_target(target), allow_methods=frozenset(SAFE_METHODS))
    records = stream_records(open_sample(bundled_sample()))
    return Counter(r.key for r in records if policy.skip_reason(r) is None)


def test_a_remote_worker_killed_mid_gate_is_named_in_the_partial_report(
    topology: Topology, tmp_path: Path
) -> None:
    stack = healthy_stack_in(topology, tmp_path / "stack")
    workers = start_workers(topology)
    run_dir = tmp_path / "run"
    try:
        gate_args = ["--config", str(bundled_config()), "gate", *REMOTE_WORKERS]
        gate_args += ["--pacing", "rate", "--rate", "300", "--run-dir", str(run_dir)]
        command = [sys.executable, "-m", "warmer", *gate_args]
        gate = subprocess.Popen(
            topology.exec_in(topology.master, command),
            text=True,
            stderr=subprocess.PIPE,
            env={**_clean_env(), **stack.env()},
        )
        assert gate.stderr is not None
        lines = []
        for line in gate.stderr:  # until the warm phase is under way
            lines.append(line)
            if line.startswith("warm: sending"):
                break
        threading.Event().wait(1.0)
        victim = next(
            c
            for c in psutil.Process(workers[0].pid).children(recursive=True)
            if "--worker" in c.cmdline()
        )
        victim.kill()
        _, rest = gate.communicate(timeout=180)
    finally:
        stop(workers)
        stack.stop()
    stderr = "".join(lines) + rest
    assert gate.returncode == 3, stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "error" and report["partial"]
    assert re.search(
        rf"worker \S+ \({re.escape(WORKERS_IP)}\) was lost during warm \(.*\): "
        r"[\d,]+ of its [\d,]+ requests were never sent or never reported",
        report["error"],
    ), report["error"]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WARMER_")}
