"""``warmer gate --engine locust``: the default engine's verdicts, and a lost worker is exit 3."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.cli_runner import run_warmer
from tests.conftest import require
from warmer.demo.scenarios import SCENARIOS, bundled_config, bundled_sample, scenario
from warmer.demo.services import find_redis_server

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _needs_the_demo() -> None:
    require(find_redis_server(), "redis-server")
    if bundled_sample() is None:
        pytest.skip("the bundled sample ships with the source checkout only")


def gate(name: str, run_dir: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """``warmer gate`` with the demo config on a fresh ``name`` stack: exit code and report."""
    with scenario(name).start(run_dir.with_name(run_dir.name + "-stack")) as stack:
        done = run_warmer(
            "--config", str(bundled_config()), "gate", "--run-dir", str(run_dir), *extra,
            env=stack.env(), timeout=600,
        )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads((run_dir / "report.json").read_text())


def judged(report: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """Each check's outcome and diagnosis, the counts in the diagnosis masked (they vary
    from run to run with either engine; the cause, tier and phase named must not)."""
    return [
        (c["expression"], c["outcome"], re.sub(r"\d[\d,.]*%?", "#", c["diagnosis"] or ""))
        for c in report["checks"]
    ]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_locust_engine_judges_every_demo_scenario_as_the_default_engine(
    name: str, tmp_path: Path
) -> None:
    code, default = gate(name, tmp_path / "default")
    locust_code, locust = gate(name, tmp_path / "locust", "--engine", "locust", "--workers", "2")
    assert code == locust_code == int(scenario(name).expected_exit)
    assert default["verdict"] == locust["verdict"]
    assert judged(default) == judged(locust)
    assert [(p["name"], p["requests"]) for p in default["phases"]] == [
        (p["name"], p["requests"]) for p in locust["phases"]
    ]
    assert locust["config"]["replay"]["engine"] == "locust"


def test_a_worker_killed_mid_gate_gives_exit_3_and_a_partial_report_naming_it(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    with scenario("healthy").start(tmp_path / "stack") as stack:
        proc = subprocess.Popen(
            [sys.executable, "-m", "warmer", "--config", str(bundled_config()), "gate",
             "--engine", "locust", "--workers", "2", "--pacing", "rate", "--rate", "300",
             "--run-dir", str(run_dir)],
            env={**_clean_env(), **stack.env()}, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        lines: list[str] = []
        warming = threading.Event()
        threading.Thread(target=_read, args=(proc, lines, warming), daemon=True).start()
        assert warming.wait(120), "".join(lines)
        time.sleep(1.0)
        victim = next(
            c for c in psutil.Process(proc.pid).children(recursive=True)
            if "--worker" in c.cmdline()
        )  # fmt: skip
        victim.send_signal(signal.SIGKILL)
        proc.wait(180)
    stderr = "".join(lines)
    assert proc.returncode == 3, stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "error" and report["exit_code"] == 3 and report["partial"]
    error = report["error"]
    assert f"worker {socket.gethostname()} (127.0.0.1) was lost during warm" in error
    assert re.search(r": [\d,]+ of its [\d,]+ requests were never sent or never reported", error)
    assert error in stderr and "Traceback" not in stderr
    assert (run_dir / "results.parquet").exists()


def _read(proc: subprocess.Popen[str], lines: list[str], warming: threading.Event) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("warm: sending"):
            warming.set()


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WARMER_")}
