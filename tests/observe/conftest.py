"""Fixtures of the observe tests: a real prometheus_client /metrics endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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
