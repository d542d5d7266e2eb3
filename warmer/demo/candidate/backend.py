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
import time
from collections.abc import Callable
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


def render(path: str, query: str = "", version: int = 0) -> Response:
    """The deterministic response for ``path?query``: 200 on a known route, else 404.

    ``version`` is the origin's version of the object: each one has a body of its own
    (version 0 is what the candidate always served before versions existed).
    """
    route = route_of(path)
    if route == "other":
        return Response(404, "application/json", b'{"error": "not found"}')
    content_type, base = _ROUTE_SIZES[route]
    name = f"{path}?{query}" + (f"#v{version}" if version else "")
    digest = hashlib.blake2b(name.encode(), digest_size=16).hexdigest()
    size = base + int(digest[:8], 16) % base
    head = json.dumps({"path": path, "query": query, "etag": digest}).encode()
    filler = (digest.encode() * (size // len(digest) + 1))[: max(size - len(head), 0)]
    return Response(200, content_type, head + filler)


OVERLOADED = Response(503, "application/json", b'{"error": "origin overloaded"}')
"""What an origin past its ``capacity_rps`` answers, at once."""


class Backend:
    """The origin; ``requests`` counts every call, ``inflight``/``peak_inflight`` the load.

    With ``capacity_rps`` it also sheds load: a token bucket refilled at that rate, holding
    a tenth of a second's worth, lets a request through or answers it 503 at once
    (``rejected`` counts those).
    """

    def __init__(
        self,
        latency_ms: float,
        jitter_ms: float,
        concurrency: int,
        *,
        seed: int = 0,
        capacity_rps: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.concurrency = concurrency
        self.capacity_rps = capacity_rps
        self._slots = asyncio.Semaphore(concurrency)
        self._random = random.Random(seed)
        self._clock = clock
        self._burst = max(1.0, (capacity_rps or 0.0) / 10)
        self._tokens = self._burst
        self._refilled = clock()
        self.requests = 0
        self.rejected = 0
        self.inflight = 0
        self.peak_inflight = 0
        self.versions: dict[str, int] = {}
        """Cache key → the origin's current version of it (absent: 0)."""

    def version(self, key: str | None) -> int:
        """The origin's current version of the object cached under ``key``."""
        return self.versions.get(key, 0) if key is not None else 0

    def write(self, key: str) -> int:
        """Change the object under ``key`` (a new version, a new body); returns the version."""
        self.versions[key] = self.versions.get(key, 0) + 1
        return self.versions[key]

    def _admit(self) -> bool:
        """Take a token from the bucket (always True without a capacity)."""
        if self.capacity_rps is None:
            return True
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self.capacity_rps)
        self._refilled = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    async def fetch(self, method: str, path: str, query: str, version: int = 0) -> Response:
        """Build the response for a request, after real latency, within the concurrency bound.

        ``version`` is the object's current version (:meth:`version` of its cache key).
        """
        self.requests += 1
        if not self._admit():
            self.rejected += 1
            return OVERLOADED
        async with self._slots:
            self.inflight += 1
            self.peak_inflight = max(self.peak_inflight, self.inflight)
            try:
                await asyncio.sleep(self._delay_s())
                return render(path, query, version)
            finally:
                self.inflight -= 1

    def _delay_s(self) -> float:
        jitter = self._random.uniform(-self.jitter_ms, self.jitter_ms)
        return max(self.latency_ms + jitter, 0.0) / 1000.0
