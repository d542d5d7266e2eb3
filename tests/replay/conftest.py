"""Real servers for the replay tests: uvicorn (TCP, TLS, Unix socket), nginx, a resetter."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from warmer.model.sample import SampleRecord

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(address: str | tuple[str, int], proc: subprocess.Popen[bytes] | None) -> None:
    """Block until something accepts connections at ``address`` (a port or socket path)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            if isinstance(address, str):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.connect(address)
            else:
                socket.create_connection(address, timeout=1).close()
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens at {address}")


class Uvicorn:
    """tests/replay/app.py under a real uvicorn subprocess."""

    def __init__(
        self,
        *,
        uds: str | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.port = free_port()
        self.uds = uds
        self.tls = certfile is not None
        args = [sys.executable, "-m", "uvicorn", "tests.replay.app:app", "--log-level", "warning"]
        args += ["--uds", uds] if uds else ["--host", host, "--port", str(self.port)]
        if certfile and keyfile:
            args += ["--ssl-certfile", certfile, "--ssl-keyfile", keyfile]
        self.proc = subprocess.Popen(args, cwd=ROOT)
        wait_listening(uds or (host, self.port), self.proc)

    @property
    def url(self) -> str:
        if self.uds:
            return "http+unix://" + self.uds.replace("/", "%2F")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def stats(self, detail: bool = False) -> dict[str, Any]:
        """What the app received (plain HTTP over TCP only); ``detail``: paths per client."""
        query = "?detail=1" if detail else ""
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}/_stats{query}", timeout=5
        ) as resp:
            data: dict[str, Any] = json.load(resp)
            return data

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server() -> Iterator[Uvicorn]:
    """The test app under uvicorn on a free loopback port."""
    app = Uvicorn()
    yield app
    app.stop()


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl CLI)."""
    openssl = shutil.which("openssl")
    require(openssl, "openssl")
    assert openssl is not None
    where = tmp_path_factory.mktemp("tls")
    certfile, keyfile = str(where / "cert.pem"), str(where / "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", keyfile, "-out", certfile, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return certfile, keyfile


@pytest.fixture
def tls_server(cert: tuple[str, str]) -> Iterator[Uvicorn]:
    """The test app over HTTPS with the self-signed certificate."""
    app = Uvicorn(certfile=cert[0], keyfile=cert[1])
    yield app
    app.stop()


@pytest.fixture
def unix_server(tmp_path: Path) -> Iterator[Uvicorn]:
    """The test app on a Unix socket."""
    app = Uvicorn(uds=str(tmp_path / "app.sock"))
    yield app
    app.stop()


class Nginx:
    """A real nginx serving a small static response with a temp config."""

    def __init__(self, root: Path, log_format: str | None = None) -> None:
        self.port = free_port()
        (root / "logs").mkdir()
        self.access_log = root / "logs" / "access.log"
        access = "access_log off;"
        if log_format is not None:  # nginx's own quoting: '...' holding the format
            access = f"log_format t '{log_format}'; access_log {self.access_log} t;"
        conf = root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(port=self.port, root=root, access_log=access))
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-p", str(root), "-c", str(conf)])
        wait_listening(("127.0.0.1", self.port), self.proc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log {root}/logs/error.log crit;
pid {root}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    {access_log}
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp; uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ add_header X-Cache HIT; add_header Age 3; return 200 "warm\\n"; }}
        location /chunk {{ chunked_transfer_encoding on; add_header Cache-Status "nginx; hit";
                           gzip off; return 200 "chunk"; }}
    }}
}}
"""


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    """nginx on a free port (skipped with a reason when it is not installed)."""
    require("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None, "nginx")
    server = Nginx(tmp_path)
    yield server
    server.stop()


class Resetter:
    """Accepts connections, reads the request, then resets the connection (RST).

    Subclasses override :meth:`handle` for other misbehaviour.
    """

    def __init__(self) -> None:
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle_and_close, args=(conn,), daemon=True).start()

    def _handle_and_close(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.handle(conn)
        conn.close()

    def handle(self, conn: socket.socket) -> None:
        conn.recv(65536)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def close(self) -> None:
        self.sock.close()


class Garbler(Resetter):
    """Answers every request with bytes that are not HTTP."""

    def handle(self, conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH_9.0 this is not http\r\n\r\n")
        time.sleep(0.5)


class OneShot(Resetter):
    """Answers one request per connection with a keep-alive response, then closes."""

    def handle(self, conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Cache: HIT\r\n\r\nok")


@pytest.fixture
def garbler() -> Iterator[Garbler]:
    """A server that answers in something other than HTTP."""
    server = Garbler()
    yield server
    server.close()


@pytest.fixture
def one_shot() -> Iterator[OneShot]:
    """A server that silently drops every keep-alive connection after one response."""
    server = OneShot()
    yield server
    server.close()


@pytest.fixture
def resetter() -> Iterator[Resetter]:
    """A server that resets every connection after reading the request."""
    server = Resetter()
    yield server
    server.close()


def records(paths: list[str], *, method: str = "GET", step: float = 0.01) -> list[SampleRecord]:
    """Sample records for ``paths`` one ``step`` apart, keyed by path."""
    return [
        SampleRecord(ts=1_700_000_000 + i * step, method=method, target=p, key=f"{method} {p}")
        for i, p in enumerate(paths)
    ]


def write_jsonl(path: Path, recs: list[SampleRecord]) -> Path:
    """A canonical JSONL sample written by hand (one JSON object per line)."""
    with open(path, "w") as fh:
        for r in recs:
            fh.write(json.dumps({"ts": r.ts, "method": r.method, "target": r.target, "key": r.key}))
            fh.write("\n")
    return path
