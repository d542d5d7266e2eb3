"""Faults injected into a real gate run, through the real `warmer gate` command.

The reference candidate and real Redis, Memcached and Prometheus servers are killed or
frozen (SIGSTOP) while warm, settle or verify runs, and signals arrive at several
moments. Every case asserts the exit code, the report's verdict, that every configured
check is listed (evaluated or ``not_evaluated``), the steps, and the cause the report
names. A fault must never give exit 0 or a silent exit 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.services import MemcachedServer, RedisServer, find_binary, find_redis_server
from warmer.model.sample import SampleMeta
from warmer.sample.store import SampleWriter, open_sample

pytestmark = pytest.mark.slow

DEMO_SAMPLE = Path(__file__).parents[2] / "traffic_samples" / "demo.jsonl.gz"
USER_CHECKS = ["hit_rate.l0 >= 0.1", "warm.hit_rate.l0 >= 0.01", "errors.rate < 0.5"]
BUILT_IN = ["warm.skipped.rate <= 5%", "skipped.rate <= 5%"]
WARM_ROWS = 2400  # 3,000 records split 80/20 by time: warm takes ~8 s at 300 requests/s


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "s.jsonl"
    table = open_sample(DEMO_SAMPLE).to_table().slice(0, 3000)
    writer = SampleWriter(path)
    writer.write_batch(table)
    writer.close(SampleMeta(requests=table.num_rows))
    return path


@pytest.fixture
def l2() -> Iterator[RedisServer]:
    require(find_redis_server(), "redis-server")
    with RedisServer() as server:
        yield server
        _resume(server.pid)


@pytest.fixture
def candidate(l2: RedisServer) -> Iterator[CandidateServer]:
    settings = CandidateSettings(l2_url=l2.url, backend_latency_ms=1, backend_jitter_ms=0)
    with CandidateServer(settings) as server:
        yield server
        _resume(server.pid)


def _resume(pid: int | None) -> None:
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def write_config(tmp_path: Path, sample: Path, candidate: CandidateServer, **extra: str) -> Path:
    """A warmer.toml: L0 from Cache-Status, L2 Redis (required), backend from /metrics."""
    tiers = extra.pop("tiers", "")
    backend = extra.pop(
        "backend",
        f'source = "prometheus"\nurl = "{candidate.metrics_url}"\n'
        'requests = "candidate_backend_requests_total"',
    )
    settle = extra.pop("settle", "3.0")
    observe_timeout = extra.pop("observe_timeout", "0.5")
    checks = ", ".join(json.dumps(c) for c in USER_CHECKS)
    text = f"""
[replay]
target = "{candidate.url}"
pacing = "rate"
rate = 300
concurrency = 16
timeout_s = 1.0

[gate]
sample = "{sample}"
settle_s = {settle}
checks = [{checks}]

[observe]
interval_s = 0.2
timeout_s = {observe_timeout}
lost_after_s = 1.5

[tiers.l0]
source = "cache-status"
cache = "l0"

{tiers}

[backend]
{backend}
"""
    path = tmp_path / "warmer.toml"
    path.write_text(text)
    return path


class GateProcess:
    """`warmer gate` in a child process whose stderr is read line by line as it comes."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.run_dir = tmp_path / "run"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARMER_")}
        env["NO_COLOR"] = "1"
        argv = [sys.executable, "-m", "warmer", "gate", "--run-dir", str(self.run_dir), *args]
        self.proc = subprocess.Popen(
            argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Block until a stderr line contains ``text`` (fails the test otherwise)."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    pytest.fail(f"never saw {text!r} in:\n{''.join(self.lines)}")
                self._seen.wait(min(left, 0.2))

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float = 120) -> tuple[int, dict[str, Any], str]:
        """Exit code, report.json and the whole stderr."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        report = json.loads((self.run_dir / "report.json").read_text())
        return code, report, "".join(self.lines)


def start_gate(tmp_path: Path, config: Path) -> GateProcess:
    """The gate with ``config``, which sits in ``tmp_path`` where warmer finds it."""
    assert config.parent == tmp_path
    return GateProcess(tmp_path)


def assert_every_check_listed(report: dict[str, Any]) -> dict[str, str]:
    outcomes = {c["expression"]: c["outcome"] for c in report["checks"]}
    assert list(outcomes) == USER_CHECKS + BUILT_IN
    return outcomes


def assert_no_leftovers(run_dir: Path) -> None:
    assert not list(run_dir.glob("*.part")), list(run_dir.iterdir())
    assert not list(run_dir.glob(".*.tmp*")), list(run_dir.iterdir())


def step_status(report: dict[str, Any]) -> dict[str, str]:
    return {step["name"]: step["status"] for step in report["steps"]}


def results_rows(run_dir: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(run_dir / "results.parquet").metadata.num_rows)


# ------------------------------------------------------------------ the target fails


def test_target_killed_during_warm_ends_the_run_with_exit_3(
    tmp_path: Path, sample: Path, candidate: CandidateServer
) -> None:
    gate = start_gate(tmp_path, write_config(tmp_path, sample, candidate))
    gate.wait_for("warm: sending")
    time.sleep(1.5)
    candidate.kill()
    code, report, stderr = gate.finish()
    assert code == 3, stderr
    assert report["verdict"] == "error" and report["exit_code"] == 3
    assert "stopped working" in report["error"]
    assert "into warm" in report["error"] or "during warm" in report["error"]
    assert "refused" in report["error"] or "reset" in report["error"]
    assert step_status(report) == {
        "preflight": "ok",
        "tiers": "ok",
        "warm": "error",
        "settle": "not_run",
        "tiers-warm": "not_run",
        "verify": "not_run",
        "predict": "not_run",
    }
    outcomes = assert_every_check_listed(report)
    # Verify never ran: its checks are not evaluated; the warm ones were judged.
    assert outcomes["hit_rate.l0 >= 0.1"] == "not_evaluated"
    assert outcomes["skipped.rate <= 5%"] == "not_evaluated"
    assert outcomes["warm.hit_rate.l0 >= 0.01"] in ("pass", "fail")
    # The run stopped sending soon after the target died, far short of the warm part.
    assert results_rows(gate.run_dir) < WARM_ROWS
    assert "Error: the target at" in stderr
    assert_no_leftovers(gate.run_dir)


def test_target_killed_during_verify_ends_the_run_with_exit_3(
    tmp_path: Path, sample: Path, candidate: CandidateServer
) -> None:
    config = write_config(tmp_path, sample, candidate, settle="0.2")
    gate = start_gate(tmp_path, config)
    gate.wait_for("verify: sending")
    time.sleep(0.3)
    candidate.kill()
    code, report, stderr = gate.finish()
    assert code == 3, stderr
    assert report["verdict"] == "error" and "verify" in report["error"]
    assert step_status(report)["verify"] == "error"
    assert step_status(report)["warm"] == "ok"
    assert_every_check_listed(report)


def test_frozen_target_times_out_and_ends_the_run_with_exit_3(
    tmp_path: Path, sample: Path, candidate: CandidateServer
) -> None:
    gate = start_gate(tmp_path, write_config(tmp_path, sample, candidate))
    gate.wait_for("warm: sending")
    time.sleep(1.0)
    assert candidate.pid is not None
    os.kill(candidate.pid, signal.SIGSTOP)
    try:
        code, report, stderr = gate.finish()
    finally:
        os.kill(candidate.pid, signal.SIGCONT)
    assert code == 3, stderr
    error = report["error"]
    assert "stopped working" in error and ("timeout" in error or "no answer" in error), error
    assert step_status(report)["warm"] == "error"
    assert_every_check_listed(report)


# ------------------------------------------------------------------ an observer goes away


def test_required_redis_killed_during_warm_is_exit_3_not_an_unused_tier(
    tmp_path: Path, sample: Path, candidate: CandidateServer, l2: RedisServer
) -> None:
    tiers = f'[tiers.l2]\nsource = "redis"\nurl = "{l2.url}"'
    gate = start_gate(tmp_path, write_config(tmp_path, sample, candidate, tiers=tiers))
    gate.wait_for("warm: sending")
    time.sleep(1.0)
    l2.kill()
    code, report, stderr = gate.finish()
    assert code == 3, stderr
    assert report["verdict"] == "error"
    assert "L2 (redis at redis://127.0.0.1:" in report["error"]
    assert "stopped answering" in report["error"]
    assert "does not seem to use" not in json.dumps(report)
    assert step_status(report)["warm"] == "error"
    assert_every_check_listed(report)


def test_required_redis_frozen_during_settle_is_exit_3(
    tmp_path: Path, sample: Path, candidate: CandidateServer, l2: RedisServer
) -> None:
    tiers = f'[tiers.l2]\nsource = "redis"\nurl = "{l2.url}"'
    gate = start_gate(tmp_path, write_config(tmp_path, sample, candidate, tiers=tiers, settle="6"))
    gate.wait_for("settle: letting")
    assert l2.pid is not None
    os.kill(l2.pid, signal.SIGSTOP)
    try:
        code, report, stderr = gate.finish()
    finally:
        os.kill(l2.pid, signal.SIGCONT)
    assert code == 3, stderr
    assert "L2" in report["error"] and "stopped answering" in report["error"]
    status = step_status(report)
    assert status["warm"] == "ok" and status["settle"] == "error" and status["verify"] == "not_run"
    outcomes = assert_every_check_listed(report)
    assert outcomes["hit_rate.l0 >= 0.1"] == "not_evaluated"


def test_required_memcached_killed_during_warm_is_exit_3(
    tmp_path: Path, sample: Path, candidate: CandidateServer
) -> None:
    require(find_binary("memcached"), "memcached")
    with MemcachedServer() as memcached:
        tiers = f'[tiers.l1]\nsource = "memcached"\nurl = "{memcached.address}"'
        gate = start_gate(tmp_path, write_config(tmp_path, sample, candidate, tiers=tiers))
        gate.wait_for("warm: sending")
        time.sleep(1.0)
        memcached.kill()
        code, report, stderr = gate.finish()
    assert code == 3, stderr
    assert "L1 (memcached at" in report["error"] and "stopped answering" in report["error"]
    assert_every_check_listed(report)


def test_required_promql_backend_killed_during_verify_is_exit_3(
    tmp_path: Path,
    sample: Path,
    candidate: CandidateServer,
    prometheus_factory: Callable[..., Any],
) -> None:
    prometheus = prometheus_factory([candidate.address], scrape_interval_s=0.5)
    backend = (
        f'source = "promql"\nurl = "{prometheus.url}"\n'
        'requests = "sum(candidate_backend_requests_total)"'
    )
    config = write_config(tmp_path, sample, candidate, backend=backend, settle="0.2")
    gate = start_gate(tmp_path, config)
    gate.wait_for("verify: sending")
    prometheus.kill()
    code, report, stderr = gate.finish()
    if code == 0 and step_status(report)["verify"] == "ok":
        pytest.skip("verify finished before the backend was declared lost (a fast machine)")
    assert code == 3, stderr
    assert "backend (promql at" in report["error"], report["error"]
    assert_every_check_listed(report)


def test_slow_backend_fails_its_latency_check_with_a_named_cause(
    tmp_path: Path, sample: Path, l2: RedisServer
) -> None:
    slow = CandidateSettings(l2_url=l2.url, backend_latency_ms=250, backend_jitter_ms=0)
    with CandidateServer(slow) as candidate:
        config = write_config(tmp_path, sample, candidate, settle="0.2")
        assert config.parent == tmp_path
        gate = GateProcess(tmp_path, "--check", "latency.p99_ms <= 100")
        code, report, stderr = gate.finish(timeout=180)
    assert code == 1, stderr
    assert report["verdict"] == "fail"
    latency = next(c for c in report["checks"] if c["metric"] == "latency.p99_ms")
    assert latency["outcome"] == "fail" and latency["observed"] > 200
    assert latency["diagnosis"], latency


# ------------------------------------------------------------------ signals


class _SlowMetrics(BaseHTTPRequestHandler):
    """A /metrics endpoint that takes a while to answer: a slow preflight to signal into."""

    delay_s = 2.0
    count = 0

    def do_GET(self) -> None:
        time.sleep(self.delay_s)
        type(self).count += 1
        body = f"requests_total {type(self).count}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_signal_during_preflight_leaves_an_interrupted_report(
    tmp_path: Path, sample: Path, candidate: CandidateServer
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowMetrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        backend = f'source = "prometheus"\nurl = "{url}"\nrequests = "requests_total"'
        config = write_config(tmp_path, sample, candidate, backend=backend, observe_timeout="5")
        gate = start_gate(tmp_path, config)
        _wait_for_file(gate.run_dir / "config.json")
        gate.signal(signal.SIGTERM)
        code, report, stderr = gate.finish()
    finally:
        server.shutdown()
    assert code == 130, stderr
    assert report["verdict"] == "interrupted" and "SIGTERM" in report["error"]
    outcomes = assert_every_check_listed(report)
    assert set(outcomes.values()) == {"not_evaluated"}
    assert step_status(report)["warm"] == "not_run"
    assert_no_leftovers(gate.run_dir)


@pytest.mark.parametrize(
    ("moment", "sig", "verify_checks"),
    [
        ("warm: sending", signal.SIGINT, "not_evaluated"),
        ("settle: letting", signal.SIGTERM, "not_evaluated"),
        ("verify: sending", signal.SIGHUP, "judged"),
    ],
)
def test_signal_during_a_phase_leaves_an_interrupted_report(
    tmp_path: Path,
    sample: Path,
    candidate: CandidateServer,
    moment: str,
    sig: signal.Signals,
    verify_checks: str,
) -> None:
    gate = start_gate(tmp_path, write_config(tmp_path, sample, candidate))
    gate.wait_for(moment)
    time.sleep(0.5)
    gate.signal(sig)
    code, report, stderr = gate.finish()
    assert code == 130, stderr
    assert report["verdict"] == "interrupted" and sig.name in report["error"]
    assert report["partial"] is True
    outcomes = assert_every_check_listed(report)
    if verify_checks == "judged":
        assert outcomes["hit_rate.l0 >= 0.1"] in ("pass", "fail")
    else:
        assert outcomes["hit_rate.l0 >= 0.1"] == "not_evaluated"
        assert step_status(report)["verify"] == "not_run"
    assert "interrupted" in step_status(report).values()
    assert_no_leftovers(gate.run_dir)
    # A partial run still has its results and timelines to re-read.
    assert (gate.run_dir / "results.parquet").exists()


def test_signal_in_the_first_moments_leaves_a_report_or_no_run_directory(
    tmp_path: Path, sample: Path, candidate: CandidateServer
) -> None:
    gate = start_gate(tmp_path, write_config(tmp_path, sample, candidate))
    time.sleep(0.4)
    gate.signal(signal.SIGTERM)
    code = gate.proc.wait(timeout=60)
    if code == -signal.SIGTERM:
        # Killed while Python was still importing warmer, before its handlers existed:
        # nothing had been created yet, so there is nothing to report or clean up.
        assert not gate.run_dir.exists()
        return
    # 130, or killed by SIGINT after cleaning up (what a shell also reports as 130):
    # CPython does that when a KeyboardInterrupt passed through an exec()'d string, as it
    # can when the signal lands in the middle of an import.
    assert code in (130, -signal.SIGINT), "".join(gate.lines)
    if gate.run_dir.exists():
        report = json.loads((gate.run_dir / "report.json").read_text())
        assert report["verdict"] == "interrupted"
        assert_every_check_listed(report)
        assert_no_leftovers(gate.run_dir)
    assert "Traceback" not in "".join(gate.lines)


def _wait_for_file(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} never appeared")
        time.sleep(0.05)


# ------------------------------------------------------------------ the disk fills up


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount tmpfs file systems of a given size (root only; skipped elsewhere)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounts: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"disk-{len(mounts)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)])
        if done.returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        mounts.append(point)
        return point

    yield mount
    for point in mounts:
        subprocess.run(["umount", str(point)], check=False)


@pytest.mark.parametrize("size", ["1000k", "2200k"])  # the sample copy, then the results
def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_file(
    tmp_path: Path, candidate: CandidateServer, small_disk: Callable[[str], Path], size: str
) -> None:
    disk = small_disk(size)
    run_dir = disk / "run"
    args = ["gate", "--target", candidate.url, "--sample", str(DEMO_SAMPLE)]
    args += ["--run-dir", str(run_dir), "--settle", "0.1", "--check", "errors.rate < 0.5"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARMER_")}
    done = subprocess.run(
        [sys.executable, "-m", "warmer", *args], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
    assert_no_leftovers(run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "error" and "No space left" in report["error"]
