"""Fixtures of the observe tests: a real /metrics endpoint, a TLS-only redis-server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from warmer.demo.services import free_port


@dataclass
class Endpoint:
    url: str
    address: str
    cache: Counter
    backend: Counter


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """candidate_cache_requests_total{tier,result} and candidate_backend_requests_total."""
    registry = CollectorRegistry()
    cache = Counter("candidate_cache_requests", "lookups", ["tier", "result"], registry=registry)
    backend = Counter("candidate_backend_requests", "origin requests", registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield Endpoint(f"http://127.0.0.1:{port}/metrics", f"127.0.0.1:{port}", cache, backend)
    server.shutdown()
    thread.join(timeout=5)


@dataclass
class TlsRedis:
    port: int
    ca_file: Path


@pytest.fixture
def redis_tls(tmp_path: Path) -> Iterator[TlsRedis]:
    """A redis-server speaking only TLS on a free port, with a throwaway self-signed cert."""
    binary, openssl = shutil.which("redis-server"), shutil.which("openssl")
    if binary is None or openssl is None:
        pytest.skip("redis-server with TLS and openssl are needed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    argv = [
        binary,
        "--port",
        "0",
        "--tls-port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--tls-cert-file",
        str(cert),
        "--tls-key-file",
        str(key),
        "--tls-ca-cert-file",
        str(cert),
        "--tls-auth-clients",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.skip("this redis-server cannot serve TLS")
            time.sleep(0.05)
        yield TlsRedis(port, cert)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True
