"""The Locust engine: a real Locust master and worker processes replay the jobs.

Locust is never imported here (its gevent monkey-patching would take over warmer's
process). The engine spools the jobs to a file, starts ``locust --master`` and
``locust --worker`` subprocesses on the shipped ``locustfile.py``, tails the per-worker
results parts into the sink while they run, and stops the master once every worker has
written its ``done`` marker (or when ``stop`` is set: then a ``stop`` file tells the
users to stop taking jobs, and what was in flight still lands in the parts).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from warmer.errors import RunError, UsageError
from warmer.model.results import RESPONSE_HEADERS, SINGLE_VALUED
from warmer.replay.engine import EngineSettings, Job, Sink

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
_START_TIMEOUT_S = 60.0


def _locust_command() -> list[str]:
    exe = shutil.which("locust", path=os.path.dirname(sys.executable)) or shutil.which("locust")
    if exe is None:
        raise UsageError("the locust engine needs Locust", "pip install 'warmer[locust]'")
    return [exe]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocustEngine:
    """``--engine locust``: FastHttpUser workers, for load beyond one machine's processes."""

    name = "locust"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def run(
        self, jobs: Iterator[Job], settings: EngineSettings, sink: Sink, stop: threading.Event
    ) -> None:
        if settings.target.unix_socket:
            raise UsageError(
                "the locust engine cannot use Unix-socket targets", "use --engine fast"
            )
        with tempfile.TemporaryDirectory(prefix="warmer-locust-") as name:
            work = Path(name)
            first_due = _spool(jobs, work / "jobs.jsonl")
            procs = self._start(settings, work)
            try:
                self._follow(procs, work, sink, stop, first_due)
            finally:
                for proc in procs:
                    if proc.poll() is None:
                        proc.terminate()
                for proc in procs:
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()

    def _start(self, settings: EngineSettings, work: Path) -> list[subprocess.Popen[bytes]]:
        port = _free_port()
        target = settings.target
        host = f"{target.scheme}://{target.authority}"
        users = str(settings.concurrency)
        common = [*_locust_command(), "-f", str(LOCUSTFILE), "--loglevel", "ERROR"]
        master = [*common, "--master", "--headless", "--master-bind-host", "127.0.0.1",
                  "--master-bind-port", str(port), "--expect-workers", str(self.workers),
                  "-u", users, "-r", users, "--host", host, "--only-summary"]  # fmt: skip
        worker = [*common, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
        env = dict(os.environ, WARMER_SPOOL=str(work / "jobs.jsonl"), WARMER_PARTS=str(work),
                   WARMER_WORKERS=str(self.workers))  # fmt: skip
        if settings.extra_headers:
            env["WARMER_CAPTURE"] = ",".join(settings.extra_headers)
        if settings.duration_s is not None:
            env["WARMER_DURATION"] = str(settings.duration_s)
        quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        procs = [subprocess.Popen(master, env=env, cwd=work, **quiet)]
        for index in range(self.workers):
            worker_env = dict(env, WARMER_WORKER_INDEX=str(index))
            procs.append(subprocess.Popen(worker, env=worker_env, cwd=work, **quiet))
        return procs

    def _follow(
        self,
        procs: list[subprocess.Popen[bytes]],
        work: Path,
        sink: Sink,
        stop: threading.Event,
        first_due: float,
    ) -> None:
        tails = [_Tail(work / f"part-{i}.jsonl") for i in range(self.workers)]
        origin_epoch = time.time() - (time.perf_counter() - sink.origin)
        started = time.monotonic()
        stopping = False
        while True:
            if stop.is_set() and not stopping:
                stopping = True
                (work / "stop").touch()
            for tail in tails:
                for row in tail.read():
                    sink.add(_row(row, origin_epoch, sink.phase, first_due))
            sink.tick()
            if all((work / f"done-{i}").exists() for i in range(self.workers)):
                break
            if procs[0].poll() is not None or any(p.poll() is not None for p in procs[1:]):
                break
            if not any(t.seen for t in tails) and time.monotonic() - started > _START_TIMEOUT_S:
                raise RunError("Locust workers did not start", "run `locust --version` to check")
            time.sleep(0.2)
        procs[0].send_signal(signal.SIGTERM)
        for tail in tails:
            for row in tail.read(final=True):
                sink.add(_row(row, origin_epoch, sink.phase, first_due))
            tail.close()


def _spool(jobs: Iterator[Job], path: Path) -> float:
    """Write the jobs for the workers; returns the first job's due time (the zero of ``due``)."""
    first: float | None = None
    with open(path, "w") as out:
        for job in jobs:
            req = job.request
            due = None
            if job.due is not None:
                first = job.due if first is None else first
                due = job.due - first
            record = {
                "seq": job.seq, "due": due, "method": req.method, "path": req.path,
                "key": req.key, "headers": list(req.headers), "ts": job.recorded,
                "body": req.body.decode("latin-1") if req.body is not None else None,
            }  # fmt: skip
            out.write(json.dumps(record) + "\n")
    return first or 0.0


def _row(
    row: dict[str, Any], origin_epoch: float, phase: str | None, first_due: float
) -> tuple[Any, ...]:
    sent = row["sent"] - origin_epoch
    due = row["due"]
    ok = row["error"] is None
    latency = (row["end"] - row["sent"]) * 1000 if ok else None
    scheduled = due - origin_epoch if due is not None else None
    from_schedule = (row["end"] - due) * 1000 if ok and due is not None else None
    # The workers record the standard headers and the extra ones by name; no body digest.
    extra = [(k[6:], _joined(k[6:], v)) for k, v in row.items() if k.startswith("extra:") and v]
    return (
        row["seq"], phase, row["method"], row["path"], row["key"], row.get("ts"), scheduled,
        sent, latency, from_schedule, row["status"], row["bytes"], None, row["error"],
        *(_joined(name, row.get(name)) for name in RESPONSE_HEADERS), extra or None,
    )  # fmt: skip


def _joined(name: str, value: Any) -> str | None:
    """geventhttpclient gives a header sent on several lines as a list: join it like
    the other engines (first line of a single-valued one)."""
    if not isinstance(value, list):
        return value if value is None else str(value)
    return str(value[0]) if name in SINGLE_VALUED else ", ".join(map(str, value))


class _Tail:
    """Reads complete new lines of a file that another process is appending to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: IO[str] | None = None
        self.buffer = ""
        self.seen = False

    def read(self, final: bool = False) -> Iterator[dict[str, Any]]:
        if self.fh is None:
            if not self.path.exists():
                return
            self.fh = open(self.path)  # noqa: SIM115
        self.seen = True
        self.buffer += self.fh.read()
        lines = self.buffer.split("\n")
        self.buffer = "" if final else lines.pop()
        for line in lines:
            if line.strip():
                yield json.loads(line)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
