"""The origin behind the caches: real latency, bounded concurrency, deterministic bodies.

Every call takes ``latency ± jitter`` of real time (``asyncio.sleep``) while holding one of
``concurrency`` slots, so an overloaded origin shows as queueing latency, as a real one
would. Bodies depend only on the path and query, so every tier stores the same bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import dataclass

_ROUTE_SIZES: dict[str, tuple[str, int]] = {
    # route: (content type, base body size in bytes; the actual size adds up to 100 %)
    "product": ("application/json", 1_500),
    "search": ("application/json", 3_000),
    "static": ("application/octet-stream", 6_000),
    "api": ("application/json", 200),
    "account": ("application/json", 400),
    "category": ("application/json", 2_500),
}


@dataclass(frozen=True, slots=True)
class Response:
    """What the origin answered."""

    status: int
    content_type: str
    body: bytes


ROOT_FILES = frozenset({"/favicon.ico", "/robots.txt"})
"""Files at the root that are static assets like those under ``/static/``."""


def route_of(path: str) -> str:
    """The route name a path belongs to (``product``, ``search`` ... or ``other``)."""
    if path in ROOT_FILES:
        return "static"
    first = path.split("/", 2)[1] if path.startswith("/") and len(path) > 1 else ""
    return first if first in _ROUTE_SIZES else "other"


def content_type_of(path: str) -> str:
    """The content type the origin gives ``path``."""
    route = route_of(path)
    return _ROUTE_SIZES[route][0] if route != "other" else "application/json"


def render(path: str, query: str = "") -> Response:
    """The deterministic response for ``path?query``: 200 on a known route, else 404."""
    route = route_of(path)
    if route == "other":
        return Response(404, "application/json", b'{"error": "not found"}')
    content_type, base = _ROUTE_SIZES[route]
    digest = hashlib.blake2b(f"{path}?{query}".encode(), digest_size=16).hexdigest()
    size = base + int(digest[:8], 16) % base
    head = json.dumps({"path": path, "query": query, "etag": digest}).encode()
    filler = (digest.encode() * (size // len(digest) + 1))[: max(size - len(head), 0)]
    return Response(200, content_type, head + filler)


class Backend:
    """The origin; ``requests`` counts every call, ``inflight``/``peak_inflight`` the load."""

    def __init__(
        self, latency_ms: float, jitter_ms: float, concurrency: int, *, seed: int = 0
    ) -> None:
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._random = random.Random(seed)
        self.requests = 0
        self.inflight = 0
        self.peak_inflight = 0

    async def fetch(self, method: str, path: str, query: str) -> Response:
        """Build the response for a request, after real latency, within the concurrency bound."""
        self.requests += 1
        async with self._slots:
            self.inflight += 1
            self.peak_inflight = max(self.peak_inflight, self.inflight)
            try:
                await asyncio.sleep(self._delay_s())
                return render(path, query)
            finally:
                self.inflight -= 1

    def _delay_s(self) -> float:
        jitter = self._random.uniform(-self.jitter_ms, self.jitter_ms)
        return max(self.latency_ms + jitter, 0.0) / 1000.0
