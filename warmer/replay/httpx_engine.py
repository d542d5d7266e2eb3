"""The httpx engine (``--engine httpx``): slower, for what only httpx offers (HTTP/2, proxies).

It shares the async driver with the fast engine; every slot is a view on one
``httpx.AsyncClient`` whose pool holds ``concurrency`` connections. Redirects are never
followed (see ``safety.py``). Proxies come from the usual ``HTTP(S)_PROXY`` variables.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from typing import Any

from warmer.errors import UsageError
from warmer.model.results import body_digest
from warmer.replay._driver import Driver, run_loop
from warmer.replay.engine import (
    Connection,
    EngineSettings,
    Job,
    Response,
    Sink,
    header_values,
)
from warmer.replay.fast import make_ssl_context
from warmer.replay.safety import PreparedRequest


def _classify(exc: Exception) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "ssl" in text or "certificate" in text:
            return "tls"
        return "refused"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "reset"
    if isinstance(exc, httpx.ProtocolError):
        return "protocol"
    return "other"


class _Slot:
    """A Connection over the shared client (the pool, not the slot, owns sockets)."""

    closed = False

    def __init__(self, client: Any, base: str, extra: tuple[str, ...] = ()) -> None:
        self.client = client
        self.base = base
        self.extra = extra

    async def request(self, request: PreparedRequest) -> Response:
        import httpx

        # The prepared header list as is (Host included, each name once) and the prepared
        # target as the exact bytes to send: httpx would otherwise re-encode the path and
        # remove dot segments, and refuse ISO-8859-1 values given as text.
        headers = [(k.encode("ascii"), v.encode("latin-1")) for k, v in request.headers]
        try:
            response = await self.client.request(
                request.method,
                self.base + request.path,
                headers=headers,
                content=request.body,
                extensions={"target": request.path.encode("ascii")},
            )
        except httpx.HTTPError as exc:
            return Response(None, 0, _classify(exc))
        body = response.content
        recorded, extra = header_values(response.headers.multi_items(), self.extra)
        digest = body_digest(body)
        return Response(response.status_code, len(body), None, recorded, digest, extra)

    def close(self) -> None:
        pass


class HttpxEngine:
    """httpx.AsyncClient behind the shared driver."""

    name = "httpx"

    def run(
        self, jobs: Iterator[Job], settings: EngineSettings, sink: Sink, stop: threading.Event
    ) -> None:
        import httpx

        if settings.http2 and importlib.util.find_spec("h2") is None:
            raise UsageError("--http2 needs the h2 package", "pip install 'httpx[http2]'")
        target = settings.target
        verify: Any = True
        if target.tls:
            verify = make_ssl_context(settings.verify_tls, settings.ca_file)
        transport = httpx.AsyncHTTPTransport(
            verify=verify,
            http2=settings.http2,
            uds=target.unix_socket,
            retries=0,
            limits=httpx.Limits(
                max_connections=settings.concurrency,
                max_keepalive_connections=settings.concurrency,
            ),
        )
        host = f"[{target.host}]" if ":" in target.host else target.host
        base = f"{target.scheme}://{host}:{target.port}"

        async def main() -> None:
            timeout = httpx.Timeout(settings.timeout_s)
            async with httpx.AsyncClient(
                transport=transport, timeout=timeout, follow_redirects=False, trust_env=True
            ) as client:
                slot = _Slot(client, base, settings.extra_headers)

                async def connect() -> Connection:
                    return slot

                await Driver(jobs, settings, sink, stop, connect).run()

        run_loop(main)
