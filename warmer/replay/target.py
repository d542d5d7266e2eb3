"""Where requests go: the parsed ``--target`` URL (TCP, TLS or a Unix socket)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from warmer.credentials import mask_url
from warmer.errors import UsageError

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    """The candidate: every request goes here, whatever host the sample recorded.

    ``prefix`` is the target URL's path without its trailing slash; it is prepended to
    every recorded path (``--target http://c:8080/api`` sends ``/api/items/1``).
    """

    scheme: str
    host: str
    port: int
    prefix: str = ""
    unix_socket: str | None = None

    @property
    def tls(self) -> bool:
        """True for https targets."""
        return self.scheme == "https"

    @property
    def authority(self) -> str:
        """The Host header value: host, with the port unless it is the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

    @property
    def address(self) -> str:
        """Where the connection goes, for messages: ``host:port`` or ``unix:PATH``."""
        if self.unix_socket:
            return f"unix:{self.unix_socket}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """An absolute URL for ``path`` (used by engines that want URLs)."""
        return f"{self.scheme}://{self.authority}{self.prefix}{path}"


def parse_target(url: str, unix_socket: str | None = None) -> Target:
    """Parse ``--target``.

    Grammar::

        TARGET := ("http" | "https") "://" HOST [":" PORT] [PATH]
                | "http+unix://" PERCENT-ENCODED-SOCKET-PATH [PATH]

    ``unix_socket`` (``--unix-socket``) connects to that socket while the URL still gives
    the Host header and scheme (``https`` over a Unix socket is TLS over that socket).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    shown = mask_url(url)  # errors quote the URL without its password
    if scheme == "http+unix":
        if not parts.netloc:
            raise UsageError(f"no socket path in {shown!r}", "write http+unix://%2Ftmp%2Fapp.sock/")
        return Target("http", "localhost", 80, _prefix(parts.path), unquote(parts.netloc))
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UsageError(
            f"cannot use {shown!r} as a target",
            "write http://HOST[:PORT][/PREFIX], https://... or http+unix://%2Fpath%2Fto.sock",
        )
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise UsageError(f"bad port in target {shown!r}") from exc
    return Target(scheme, parts.hostname, port, _prefix(parts.path), unix_socket)


def _prefix(path: str) -> str:
    return path.rstrip("/")
