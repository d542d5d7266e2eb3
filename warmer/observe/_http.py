"""One keep-alive HTTP GET client for the observers' scrapes, on the standard library.

A ``/metrics`` scrape or an instant PromQL query is one GET of a small page. httpx did
it before, but importing it (it pulls rich) and building its client (an SSL context, even
for ``http://``) cost about a second of a cold gate run's preflight under load; the replay
engine does not need httpx either. This client keeps what the observers relied on: one
timeout for connect and each read, TLS verified against certifi's bundle (as httpx did)
for ``https://``, Basic credentials taken from the URL's user info, no proxy from the
environment, redirects not followed (a 3xx is a status error), and failure reasons named
the way httpx named them (``ConnectError: [Errno 111] Connection refused``).
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from warmer.credentials import mask_url

_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
"""What a keep-alive connection the server closed meanwhile raises on its next use."""


class HttpError(Exception):
    """No usable answer; the message says why (``ConnectError: ...``, ``HTTP 503`` ...)."""


class HttpStatusError(HttpError):
    """The server answered with a status outside 2xx."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _StaleConnection(HttpError):
    """The connection was closed under the request: worth one retry if it had been idle."""


class Response(NamedTuple):
    """A complete answer: status, body and the charset its Content-Type names."""

    status: int
    body: bytes
    charset: str

    def text(self) -> str:
        """The body decoded (undecodable bytes replaced: a parser counts them malformed)."""
        return self.body.decode(self.charset, errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body)

    def raise_for_status(self) -> None:
        """HttpStatusError unless the status is 2xx."""
        if not 200 <= self.status < 300:
            raise HttpStatusError(self.status)


class HttpClient:
    """GETs against one origin (scheme, host, port) over one reused connection."""

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = mask_url(url)
            raise HttpError(f"UnsupportedProtocol: not an http(s) URL with a host: {shown}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._timeout_s = timeout_s
        self._headers = {"Host": parts.netloc.rpartition("@")[2]}
        if parts.username or parts.password:
            self._headers["Authorization"] = _basic(parts.username, parts.password)
        self._connection: http.client.HTTPConnection | None = None

    def get(self, target: str, accept: str | None = None) -> Response:
        """GET ``target`` (path and query); HttpError when no answer comes back."""
        headers = self._headers if accept is None else {**self._headers, "Accept": accept}
        reused = self._connection is not None
        try:
            return self._exchange(target, headers)
        except _StaleConnection:
            if not reused:
                raise
        return self._exchange(target, headers)  # the server had closed an idle connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _exchange(self, target: str, headers: dict[str, str]) -> Response:
        connection = self._connected()
        try:
            connection.request("GET", target, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
        except _STALE_CONNECTION as exc:
            self.close()
            raise _StaleConnection(_named(exc, "Read")) from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise HttpError(_named(exc, "Read")) from exc
        if answer.will_close:
            self.close()
        charset = answer.headers.get_content_charset() or "utf-8"
        return Response(answer.status, body, charset)

    def _connected(self) -> http.client.HTTPConnection:
        if self._connection is not None:
            return self._connection
        connection = self._new_connection()
        try:
            connection.connect()
        except (OSError, ValueError) as exc:  # ValueError: a host name IDNA cannot encode
            connection.close()
            raise HttpError(_named(exc, "Connect")) from exc
        self._connection = connection
        return connection

    def _new_connection(self) -> http.client.HTTPConnection:
        if not self._https:
            return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
        return http.client.HTTPSConnection(
            self._host, self._port, timeout=self._timeout_s, context=_tls_context()
        )


def _basic(username: str | None, password: str | None) -> str:
    """An ``Authorization: Basic`` value from URL user info (percent-decoded, like httpx)."""
    pair = f"{unquote(username or '')}:{unquote(password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _named(exc: BaseException, stage: str) -> str:
    """httpx's name for a failure while connecting or reading, then the OS message."""
    if isinstance(exc, TimeoutError):
        kind = f"{stage}Timeout"
    elif isinstance(exc, http.client.HTTPException):
        kind = "RemoteProtocolError"
    else:
        kind = f"{stage}Error"
    detail = str(exc) or type(exc).__name__
    return f"{kind}: {detail}"


_context: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """A verifying client context over certifi's CA bundle, built once per process."""
    global _context
    if _context is None:
        import certifi

        _context = ssl.create_default_context(cafile=certifi.where())
    return _context
