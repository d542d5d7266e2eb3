"""The candidate as a plain ASGI application (no framework: its per-request cost matters).

Routes: ``/healthz`` (readiness), ``/metrics`` (Prometheus text format), ``/_origin/*``
(the origin itself, around the caches),
``POST /_admin/write`` (the body is a request target: the origin changes that object and
the candidate invalidates it, see ``invalidation_delay_s``) and everything else through
:class:`~warmer.demo.candidate.service.Candidate`. Every response carries a
``Cache-Status`` header and every 200 an ``ETag`` (a hash of the body, so a stale copy
keeps its old one); hits also carry ``Age``; ``X-Cache`` when the settings ask.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from warmer.demo.candidate.metrics import CandidateMetrics
from warmer.demo.candidate.service import Candidate, Served
from warmer.demo.candidate.settings import CandidateSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_INTERNAL = b"l0; fwd=bypass; detail=internal"
ORIGIN_PREFIX = "/_origin"
"""``/_origin/<path>`` is ``<path>`` answered by the origin directly, around every tier:
what a stale-read probe's ``[stale_reads] origin`` can point to."""


class CandidateApp:
    """ASGI callable; Redis connections open on lifespan startup and close on shutdown."""

    def __init__(self, settings: CandidateSettings) -> None:
        self.settings = settings
        self.candidate = Candidate(settings)
        self.metrics = CandidateMetrics(self.candidate)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.candidate.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        if path == "/_admin/write" and method == "POST":
            await self._write(receive, send)
            return
        if method != "GET" and method != "HEAD":
            await _drain(receive)
        if path == "/healthz":
            await _respond(send, 200, b"text/plain", b"ok\n", [(b"cache-status", _INTERNAL)])
            return
        if path == "/metrics":
            await self._metrics(send)
            return
        query = scope["query_string"].decode("latin-1")
        no_cache = _no_cache(scope)
        if path.startswith(ORIGIN_PREFIX + "/"):
            path, no_cache = path[len(ORIGIN_PREFIX) :], True
        served = await self.candidate.handle(method, path, query, no_cache=no_cache)
        body = b"" if method == "HEAD" else served.body
        await _respond(
            send,
            served.status,
            served.content_type.encode(),
            body,
            self._headers(served),
            length=len(served.body),
        )
        self.metrics.latency[served.served_by].observe(time.perf_counter() - started)

    def _headers(self, served: Served) -> list[tuple[bytes, bytes]]:
        headers = [(b"cache-status", served.cache_status.encode())]
        if served.status == 200:
            tag = hashlib.blake2b(served.body, digest_size=8).hexdigest()
            headers.append((b"etag", f'"{tag}"'.encode()))
        if served.age_s is not None:
            headers.append((b"age", str(int(served.age_s)).encode()))
        if self.settings.x_cache:
            headers.append((b"x-cache", b"HIT" if served.hit else b"MISS"))
        return headers

    async def _metrics(self, send: Send) -> None:
        entries = {}
        for tier in self.candidate.tiers:
            count = await tier.entries()
            if count is not None:
                entries[tier.name] = count
        self.metrics.set_entries(entries)
        content_type = b"text/plain; version=0.0.4; charset=utf-8"
        await _respond(
            send, 200, content_type, self.metrics.exposition(), [(b"cache-status", _INTERNAL)]
        )

    async def _write(self, receive: Receive, send: Send) -> None:
        target = (await _read_body(receive)).decode("latin-1").strip()
        version = await self.candidate.write(target)
        if version is None:
            await _respond(send, 404, b"text/plain", b"not a cacheable target\n", [])
            return
        await _respond(send, 200, b"text/plain", f"version {version}\n".encode(), [])


def _no_cache(scope: Scope) -> bool:
    """True when the request asks to go around the caches (RFC 9111 §5.2.1.4, §5.4)."""
    for name, value in scope["headers"]:
        if name in (b"cache-control", b"pragma") and b"no-cache" in value.lower():
            return True
    return False


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False)) and message["type"] == "http.request"
    return b"".join(chunks)


async def _drain(receive: Receive) -> None:
    """Read a request body to its end (the candidate ignores bodies)."""
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False)) and message["type"] == "http.request"


async def _respond(
    send: Send,
    status: int,
    content_type: bytes,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    *,
    length: int | None = None,
) -> None:
    size = len(body) if length is None else length
    all_headers = [
        (b"content-type", content_type),
        (b"content-length", str(size).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})
