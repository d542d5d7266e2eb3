"""An ASGI candidate for the replay tests: cache headers, chunked bodies, redirects, slowness.

Run under a real uvicorn (see ``conftest.py``). ``/_stats`` reports what it received so
tests can assert on the requests that actually arrived.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

Scope = dict[str, Any]

_seen: Counter[str] = Counter()
_hosts: list[str] = []
_last_headers: dict[str, str] = {}
_clients: set[str] = set()
_by_client: dict[str, list[str]] = {}
"""``host:port`` of each client connection → the paths it asked for, in arrival order."""


async def app(scope: Scope, receive: Any, send: Any) -> None:
    """The ASGI entry point."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path: str = scope["path"]
    query = parse_qs(scope["query_string"].decode())
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    if path != "/_stats":
        _seen[f"{scope['method']} {path}"] += 1
        _hosts.append(headers.get("host", ""))
        _clients.add(str(scope.get("client")))
        host, port = scope.get("client") or ("?", 0)
        _by_client.setdefault(f"{host}:{port}", []).append(path)
        _last_headers.clear()
        _last_headers.update(headers)
    handler = _ROUTES.get(path.split("/")[1] if "/" in path else "", _hit)
    await handler(scope, query, send)


async def _respond(
    send: Any, status: int, body: bytes, headers: list[tuple[str, str]] | None = None
) -> None:
    raw = [(k.encode(), v.encode()) for k, v in (headers or [])]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _hit(scope: Scope, query: dict[str, list[str]], send: Any) -> None:
    await _respond(
        send,
        200,
        b"hello",
        [
            ("cache-status", "edge; hit; ttl=30, app; fwd=uri-miss"),
            ("x-cache", "HIT"),
            ("x-cache-status", "HIT"),
            ("age", "7"),
            ("cache-control", "public"),
            ("cache-control", "max-age=60, s-maxage=30"),  # two lines: joined when recorded
            ("expires", "Thu, 01 Dec 2026 16:00:00 GMT"),
            ("etag", '"v1"'),
            ("last-modified", "Wed, 30 Nov 2026 10:00:00 GMT"),
            ("x-served-by", "cache-a"),
            ("x-served-by", "cache-b"),
        ],
    )


async def _chunked(scope: Scope, query: dict[str, list[str]], send: Any) -> None:
    # No content-length: uvicorn frames the body with chunked transfer-encoding.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-cache", b"MISS")]})
    for part in (b"a" * 1000, b"b" * 2000, b"c" * 3000):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _close(scope: Scope, query: dict[str, list[str]], send: Any) -> None:
    await _respond(send, 200, b"bye", [("connection", "close")])


async def _redirect_same(scope: Scope, query: dict[str, list[str]], send: Any) -> None:
    await _respond(send, 302, b"", [("location", "/hit/redirected")])


async def _redirect_other(scope: Scope, query: dict[str, list[str]], send: Any) -> None:
    where = query.get("to", ["http://127.0.0.2:9/"])[0]
    await _respond(send, 301, b"", [("location", where)])


async def _slow(scope: Scope, query: dict[str, list[str]], send: Any) -> None:
    await asyncio.sleep(float(query.get("s", ["5"])[0]))
    await _respond(send, 200, b"late")


async def _big(scope: Scope, query: dict[str, list[str]], send: Any) -> None:
    await _respond(send, 200, b"x" * int(query.get("n", ["100000"])[0]))


async def _status(scope: Scope, query: dict[str, list[str]], send: Any) -> None:
    await _respond(send, int(scope["path"].split("/")[2]), b"status")


async def _stats(scope: Scope, query: dict[str, list[str]], send: Any) -> None:
    body = json.dumps(
        {
            "seen": _seen,
            "hosts": _hosts[-50:],
            "last_headers": _last_headers,
            "connections": len(_clients),
            "by_client": _by_client if query.get("detail") else {},
        }
    )
    await _respond(send, 200, body.encode(), [("content-type", "application/json")])


_ROUTES = {
    "chunked": _chunked,
    "close": _close,
    "redirect-same": _redirect_same,
    "redirect-other": _redirect_other,
    "slow": _slow,
    "big": _big,
    "status": _status,
    "_stats": _stats,
}
