"""A Locust master and its local workers as warmer's subprocesses, and the channel to the master.

The master (``master.py``) gets one end of a socket pair; frames (``wire.py``) carry the
jobs there and the rows back, so nothing passes through files and the workers may be on
other machines. Locust never runs in warmer's process.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warmer.errors import RunError
from warmer.replay.engine import EngineSettings
from warmer.replay.locust_engine import wire
from warmer.replay.locust_engine.commands import master_command, worker_command
from warmer.replay.locust_engine.options import LocustOptions

LOST_AFTER_S = 10.0
"""A phase's worker silent this long (beyond Locust's 3 missed heartbeats) is lost."""
_SOCKET_BUFFER = 4 << 20
_STARTUP_SLACK_S = 60.0


@dataclass(frozen=True)
class WorkerInfo:
    """A worker as the master knows it."""

    id: str
    host: str
    address: str

    @property
    def label(self) -> str:
        """How messages name it: ``host (address)``."""
        return f"{self.host} ({self.address})"

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> WorkerInfo:
        return cls(str(data.get("id", "?")), str(data["host"]), str(data["address"]))


class Channel:
    """Frames to and from the master over warmer's end of the socket pair (thread-safe sends)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        self._reader = wire.FrameReader()
        self._ready: deque[tuple[str, Any]] = deque()

    def send(self, kind: str, data: Any = None) -> None:
        with self._send_lock:
            self.sock.sendall(wire.frame(kind, data))

    def receive(self, timeout: float) -> tuple[str, Any] | None:
        """The next frame, or None after ``timeout`` seconds; EOFError once the master is gone."""
        deadline = time.monotonic() + timeout
        while not self._ready:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                return None
            except OSError as exc:
                raise EOFError(str(exc)) from exc
            if not data:
                raise EOFError("the master closed its end")
            self._ready.extend(self._reader.feed(data))
        return self._ready.popleft()

    def close(self) -> None:
        self.sock.close()


class Cluster:
    """A running master with its workers; :meth:`start` waits until they are ready."""

    def __init__(self, options: LocustOptions, settings: EngineSettings) -> None:
        self.options = options
        self.settings = settings
        self.workers: list[WorkerInfo] = []
        self.port = 0
        self._dir = tempfile.TemporaryDirectory(prefix="warmer-locust-")
        self._master: subprocess.Popen[bytes] | None = None
        self._local: list[subprocess.Popen[bytes]] = []
        self._channel: Channel | None = None

    @property
    def channel(self) -> Channel:
        assert self._channel is not None, "the cluster is not started"
        return self._channel

    @property
    def where(self) -> str:
        """The master's address for messages."""
        host, _ = self.options.address()
        return f"{host}:{self.port}"

    def start(self) -> None:
        """Start the master and the local workers; return once the expected workers are ready.

        Raises ``RunError`` (exit 3) when they do not all join within the wait, naming how
        many did.
        """
        ours, theirs = socket.socketpair()
        for sock in (ours, theirs):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER)
        self._channel = Channel(ours)
        try:
            self._master = self._spawn_master(theirs)
        finally:
            theirs.close()
        self._await_ready()

    def _spawn_master(self, theirs: socket.socket) -> subprocess.Popen[bytes]:
        host, port = self.options.address()
        target = self.settings.target
        per_worker = math.ceil(self.settings.concurrency / self.options.expected)
        config = {
            "bind_host": host, "bind_port": port, "expect": self.options.expected,
            "wait_s": self.options.wait_s, "host": f"{target.scheme}://{target.authority}",
            "users": per_worker * self.options.expected, "lost_after_s": LOST_AFTER_S,
            "stop_timeout": self.settings.timeout_s + 5.0, "settings": self._user_settings(),
        }  # fmt: skip
        env = dict(os.environ, WARMER_LOCUST=json.dumps(config))
        env["WARMER_LOCUST_FD"] = str(theirs.fileno())
        command = master_command()
        return self._spawn(command, "master", env=env, pass_fds=(theirs.fileno(),))

    def _user_settings(self) -> dict[str, Any]:
        """What every Locust user needs to know; the CA travels as text (workers are elsewhere)."""
        from warmer.model.results import RESPONSE_HEADERS

        settings = self.settings
        ca = Path(settings.ca_file).read_text() if settings.ca_file else None
        capture = [*RESPONSE_HEADERS, *(h.lower() for h in settings.extra_headers)]
        return {
            "timeout": settings.timeout_s,
            "verify": settings.verify_tls,
            "ca": ca,
            "capture": capture,
        }

    def _spawn(self, command: list[str], name: str, **options: Any) -> subprocess.Popen[bytes]:
        """Start ``command`` in the cluster's directory, its stderr in ``NAME.log`` there.

        In a session of its own: a Ctrl-C in the terminal reaches warmer alone, which stops
        the phase cleanly (the workers would otherwise quit mid-phase and look lost). If
        warmer dies, the master sees its socket close and lets the workers go.
        """
        with open(Path(self._dir.name) / f"{name}.log", "wb") as log:
            return subprocess.Popen(
                command, cwd=self._dir.name, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, **options,
            )  # fmt: skip

    def _spawn_workers(self) -> None:
        host = self.options.local_master_host()
        for index in range(self.options.workers):
            self._local.append(self._spawn(worker_command(host, self.port), f"worker-{index}"))

    def _await_ready(self) -> None:
        deadline = time.monotonic() + self.options.wait_s + _STARTUP_SLACK_S
        while time.monotonic() < deadline:
            kind, data = self.expect_frame(0.5) or ("", {})
            if kind == wire.BOUND:
                self.port = int(data["port"])
                self._spawn_workers()
            elif kind == wire.READY:
                self.workers = [WorkerInfo.from_wire(w) for w in data["workers"]]
                return
        raise self.failure("the Locust master did not get ready")

    def expect_frame(self, timeout: float) -> tuple[str, Any] | None:
        """The next frame from the master; ``RunError`` for its ERROR frame or its death."""
        try:
            got = self.channel.receive(timeout)
        except EOFError:
            raise self.failure("the Locust master exited") from None
        if got is None:
            if self._master is not None and self._master.poll() is not None:
                raise self.failure("the Locust master exited")
            return None
        kind, data = got
        if kind == wire.ERROR:
            raise RunError(data["message"], self._with_local_hint(data.get("hint")))
        return kind, data

    def failure(self, what: str) -> RunError:
        """A ``RunError`` for ``what`` with the last line the master logged."""
        code = self._master.poll() if self._master is not None else None
        detail = f" (exit code {code})" if code is not None else ""
        last = _last_line(Path(self._dir.name) / "master.log")
        return RunError(f"{what}{detail}" + (f": {last}" if last else ""), self._with_local_hint())

    def _with_local_hint(self, hint: str | None = None) -> str | None:
        for index, proc in enumerate(self._local):
            if proc.poll() is not None:
                last = _last_line(Path(self._dir.name) / f"worker-{index}.log")
                return f"a local Locust worker exited with code {proc.returncode}: {last}"
        return hint

    def close(self) -> None:
        """Ask the master to let the workers go, then end every process we started."""
        if self._channel is not None:
            with contextlib.suppress(OSError):
                self._channel.send(wire.CLOSE)
        procs = [p for p in (self._master, *self._local) if p is not None]
        _wait_or_end(procs, grace_s=10.0)
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._dir.cleanup()


def _wait_or_end(procs: list[subprocess.Popen[bytes]], grace_s: float) -> None:
    """Give ``procs`` ``grace_s`` to exit on their own, then terminate, then kill them."""
    deadline = time.monotonic() + grace_s
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _last_line(path: Path) -> str:
    """The last non-empty line of a log, for error messages."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip()[-300:] if lines else ""
