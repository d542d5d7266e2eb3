"""The default engine: a lean HTTP/1.1 client on asyncio Protocols, uvloop and httptools.

Each in-flight slot owns one keep-alive connection; a request is one ``transport.write``
of bytes serialized in advance, and the response is parsed by httptools (the llhttp
binding uvicorn uses), which handles Content-Length, chunked bodies and keep-alive. TLS
comes from an ``ssl.SSLContext``; Unix-socket targets use ``create_unix_connection``.
Library overhead, not Python, is what limits HTTP clients; this one keeps per-request work
to a few callbacks.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import threading
import zlib
from collections.abc import Iterator, Sequence

import httptools

from warmer.model.results import RESPONSE_HEADERS, SINGLE_VALUED
from warmer.replay._driver import Driver, run_loop
from warmer.replay.engine import (
    ConnectFailed,
    Connection,
    EngineSettings,
    Job,
    Response,
    Sink,
)
from warmer.replay.safety import PreparedRequest
from warmer.replay.target import Target

_RECORDED = {name.encode(): slot for slot, name in enumerate(RESPONSE_HEADERS)}
_SINGLE = frozenset(name.encode() for name in SINGLE_VALUED)
_FRAMING = frozenset({b"content-length", b"transfer-encoding"})


def header_slots(extra: Sequence[str] = ()) -> dict[bytes, int]:
    """Lower-case header name → slot in a response's captured values (standard ones first)."""
    slots = dict(_RECORDED)
    for name in extra:
        slots.setdefault(name.lower().encode("latin-1"), len(slots))
    return slots


def make_ssl_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    """A client TLS context; ``verify=False`` accepts any certificate (``--insecure``)."""
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


class H1Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; also the httptools parser's callback object."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        timeout_s: float,
        slots: dict[bytes, int] | None = None,
    ) -> None:
        self.loop = loop
        self.timeout_s = timeout_s
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.deadline = 0.0
        """``loop.time()`` after which the request in flight times out (0: none in flight)."""
        self._closed = False
        self._head = False
        self._received = False
        self._headers_done = False
        self._framed = False
        self._status: int | None = None
        self._nbytes = 0
        self._slots = slots or _RECORDED
        self._empty: list[str | None] = [None] * len(self._slots)
        self._values = list(self._empty)
        self._digest = 0

    # ------------------------------------------------------------ Connection API

    @property
    def closed(self) -> bool:
        return self._closed

    def request(self, request: PreparedRequest) -> asyncio.Future[Response]:
        waiter: asyncio.Future[Response] = self.loop.create_future()
        if self._closed or self.transport is None:
            waiter.set_result(Response(None, 0, "stale"))
            return waiter
        self.waiter = waiter
        self._head = request.method == "HEAD"
        self._received = self._headers_done = self._framed = False
        self._status = None
        self._nbytes = 0
        self._values = self._empty.copy()
        self._digest = 0
        if self.parser is None:
            self.parser = httptools.HttpResponseParser(self)
        if request.body is None:
            self.transport.write(request.head)
        else:
            self.transport.write(request.head + request.body)
        # Checked by a sweeper a few times a second (see watch_timeouts), which is cheaper
        # than arming and cancelling a timer for every request.
        self.deadline = self.loop.time() + self.timeout_s
        return waiter

    def close(self) -> None:
        self._closed = True
        if self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.parser is None:
            self._abort()  # bytes nobody asked for: the stream is out of step
            return
        self._received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._finish(Response(None, self._nbytes, "protocol"))
            self._abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self.waiter is None:
            return
        if self._headers_done and not self._framed:
            self._complete()  # a body delimited by the end of the connection
        elif self._received:
            self._finish(Response(None, self._nbytes, "reset"))
        else:
            self._finish(Response(None, 0, "stale"))

    # ------------------------------------------------------------ parser callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        slot = self._slots.get(lower)
        if slot is not None:
            text = value.decode("latin-1")
            seen = self._values[slot]
            if seen is None:
                self._values[slot] = text
            elif lower not in _SINGLE:  # a list sent on several lines (RFC 9110 §5.3)
                self._values[slot] = f"{seen}, {text}"
        elif lower in _FRAMING:
            self._framed = True

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self._status = self.parser.get_status_code()
        self._headers_done = True
        if self._head:
            # llhttp cannot be told a response answers HEAD; it would wait for the body
            # that Content-Length announces. Finish here and start a new parser.
            keep = self.parser.should_keep_alive()
            self.parser = None
            self._complete(keep)

    def on_body(self, body: bytes) -> None:
        self._nbytes += len(body)
        self._digest = zlib.crc32(body, self._digest)

    def on_message_complete(self) -> None:
        if self.parser is not None and self.waiter is not None:
            self._complete(self.parser.should_keep_alive())

    # ------------------------------------------------------------ internals

    def _complete(self, keep_alive: bool = False) -> None:
        self._finish(self._response())
        if not keep_alive:
            self.close()

    def _response(self) -> Response:
        values = self._values
        width = len(RESPONSE_HEADERS)
        headers = tuple(values[:width])
        extra = None
        if len(values) > width:
            names = list(self._slots)[width:]
            extra = [(n.decode(), v) for n, v in zip(names, values[width:], strict=True) if v]
        digest = self._digest if self._nbytes else None
        return Response(self._status, self._nbytes, None, headers, digest, extra or None)

    def _finish(self, response: Response) -> None:
        waiter, self.waiter = self.waiter, None
        self.deadline = 0.0
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def expire(self) -> None:
        """Fail the request in flight with a timeout and drop the connection."""
        self._finish(Response(None, self._nbytes, "timeout"))
        self._abort()

    def _abort(self) -> None:
        self._closed = True
        self.parser = None
        if self.transport is not None:
            self.transport.abort()


async def watch_timeouts(conns: set[H1Connection], timeout_s: float) -> None:
    """Expire requests past their deadline; runs until cancelled."""
    loop = asyncio.get_running_loop()
    every = min(max(timeout_s / 10, 0.01), 0.25)
    while True:
        await asyncio.sleep(every)
        now = loop.time()
        for conn in [c for c in conns if 0.0 < c.deadline <= now]:
            conn.expire()
        conns.difference_update([c for c in conns if c.closed])


async def open_connection(
    target: Target,
    timeout_s: float,
    ssl_context: ssl.SSLContext | None,
    registry: set[H1Connection] | None = None,
    slots: dict[bytes, int] | None = None,
) -> H1Connection:
    """Connect to ``target``; failures raise :class:`ConnectFailed` with an error kind.

    The connection joins ``registry``, the set :func:`watch_timeouts` sweeps; ``slots``
    (:func:`header_slots`) names the response headers it records.
    """
    loop = asyncio.get_running_loop()
    conn = H1Connection(loop, timeout_s, slots)
    server_hostname = target.host if ssl_context is not None else None
    try:
        if target.unix_socket:
            coro = loop.create_unix_connection(
                lambda: conn, target.unix_socket, ssl=ssl_context, server_hostname=server_hostname
            )
        else:
            coro = loop.create_connection(
                lambda: conn,
                target.host,
                target.port,
                ssl=ssl_context,
                server_hostname=server_hostname,
            )
        await asyncio.wait_for(coro, timeout_s)
    except Exception as exc:
        raise ConnectFailed(classify_connect_error(exc), str(exc)) from exc
    if registry is not None:
        registry.add(conn)
    return conn


def classify_connect_error(exc: BaseException) -> str:
    """Map a connection-attempt exception to an error kind."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, ConnectionRefusedError | FileNotFoundError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "reset"
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
        return "refused"
    if isinstance(exc, OSError) and exc.errno in (errno.ETIMEDOUT, errno.EHOSTUNREACH):
        return "timeout"
    return "other"


class FastEngine:
    """The default engine (``--engine fast``): HTTP/1.1 over asyncio Protocols on uvloop."""

    name = "fast"

    def run(
        self, jobs: Iterator[Job], settings: EngineSettings, sink: Sink, stop: threading.Event
    ) -> None:
        context = None
        if settings.target.tls:
            context = make_ssl_context(settings.verify_tls, settings.ca_file)

        conns: set[H1Connection] = set()
        slots = header_slots(settings.extra_headers)

        async def connect() -> Connection:
            return await open_connection(settings.target, settings.timeout_s, context, conns, slots)

        async def main() -> None:
            sweeper = asyncio.ensure_future(watch_timeouts(conns, settings.timeout_s))
            try:
                await Driver(jobs, settings, sink, stop, connect).run()
            finally:
                sweeper.cancel()

        run_loop(main)
