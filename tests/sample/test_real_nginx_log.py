"""A log written by a real nginx, with the requests attackers and broken clients send.

nginx escapes ``"``, ``\\`` and bytes outside printable ASCII in its log as ``\\xHH``; the
import must read every line it wrote, decode the escapes in the target, reject the request
lines that are not requests, and give the same sample with and without the C tokenizer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import require
from tests.replay.conftest import Nginx

LOG_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_cache_status'
)

REQUESTS = [
    b'GET /plain HTTP/1.1\r\nHost: x\r\nUser-Agent: ua "quoted" \\back\r\n\r\n',
    b"GET /caf%C3%A9?q=a+b&token=s3cret HTTP/1.1\r\nHost: x\r\n"
    b"Referer: https://r.example/p?access_token=abc&x=1\r\n\r\n",
    "GET /raw-utf8-é HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    b"HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /old HTTP/1.0\r\n\r\n",
    b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n",  # a TLS hello
    b"GET /a b c d HTTP/1.1\r\nHost: x\r\n\r\n",
]


@pytest.fixture
def logging_nginx(tmp_path: Path) -> Iterator[Nginx]:
    """nginx writing an access log in LOG_FORMAT (skipped with a reason when missing)."""
    require("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None, "nginx")
    root = tmp_path / "nginx"
    root.mkdir()
    server = Nginx(root, LOG_FORMAT)
    yield server
    server.stop()


def _send(port: int, request: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass


def _import(log: Path, out: Path, *, native: bool) -> list[dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARMER_")}
    env["WARMER_NO_NATIVE"] = "" if native else "1"
    command = [sys.executable, "-m", "warmer", "sample", "import", str(log), "-o", str(out)]
    command += ["--format", "nginx", "--log-format", LOG_FORMAT]
    command.append("--redact")  # pseudonyms are salted per run: plain redaction compares
    subprocess.run(command, check=True, env=env, capture_output=True)
    rows: list[dict[str, object]] = pq.read_table(out).drop_columns(["client"]).to_pylist()
    return rows


def test_a_real_nginx_log_imports_the_same_both_ways(logging_nginx: Nginx, tmp_path: Path) -> None:
    for request in REQUESTS:
        _send(logging_nginx.port, request)
    logging_nginx.stop()  # flushes the log
    written = logging_nginx.access_log.read_bytes()
    assert written.count(b"\n") == len(REQUESTS)
    assert b"\\x22quoted\\x22" in written  # nginx's escaping, as real logs have it

    rows = _import(logging_nginx.access_log, tmp_path / "n.parquet", native=True)
    assert rows == _import(logging_nginx.access_log, tmp_path / "a.parquet", native=False)

    by_target = {row["target"]: row for row in rows}
    assert set(by_target) == {
        "/plain",
        "/caf%C3%A9?q=a+b&token=REDACTED",
        "/raw-utf8-é",  # nginx wrote \xC3\xA9; the import decodes it
        "/head",
        "/old",
        "/pot",
    }  # the TLS hello and the request line with spaces are rejected
    assert dict(by_target["/plain"]["headers"])["user-agent"] == "ua \\x22quoted\\x22 \\x5Cback"
    referer = dict(by_target["/caf%C3%A9?q=a+b&token=REDACTED"]["headers"])["referer"]
    assert referer == "https://r.example/p?access_token=REDACTED&x=1"
    assert by_target["/head"]["method"] == "HEAD"
    assert by_target["/head"]["key"] == "GET /head"
    assert all(row["status"] == 200 for row in rows)  # nginx answered each with its return
