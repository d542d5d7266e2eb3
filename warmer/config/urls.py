"""What a tier's or the backend's ``url`` must look like, checked when the config loads.

A URL a client library cannot use (a wrong scheme, port 99999, ``[::1`` without its
bracket, a ``/`` left unencoded in a password, a Redis query option the client does not
know) is a config error naming the field, never a traceback or "unreachable" later.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from warmer.credentials import mask_url

REDIS_SCHEMES = ("redis", "rediss", "unix")
HTTP_SCHEMES = ("http", "https")
REDIS_QUERY = frozenset(
    {
        "db",
        "password",
        "username",
        "protocol",
        "client_name",
        "health_check_interval",
        "max_connections",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "retry_on_timeout",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_check_hostname",
    }
)
"""Query options ``redis.Redis.from_url`` accepts (any other is a TypeError inside it)."""


def url_problem(source: str, url: str) -> str | None:
    """Why ``url`` cannot work for ``source`` (None when it can). Never echoes a password."""
    if source == "redis":
        return _redis(url)
    if source in ("prometheus", "promql"):
        return _network(url, HTTP_SCHEMES, default_port=True)
    if source == "memcached":
        return _memcached(url)
    return None


def _redis(url: str) -> str | None:
    problem = _network(url, REDIS_SCHEMES, default_port=True)
    if problem:
        return problem
    parts = urlsplit(url)
    unknown = sorted({name for name, _ in parse_qsl(parts.query)} - REDIS_QUERY)
    if unknown:
        return f"{_shown(url)}: unknown query option {unknown[0]!r} (known: db, username, ...)"
    if parts.scheme != "unix" and parts.path.strip("/") and not parts.path.strip("/").isdigit():
        return f"{_shown(url)}: the path must be a database number, e.g. /0"
    return None


def _memcached(url: str) -> str | None:
    if url.startswith("unix:"):
        return (
            None
            if url.removeprefix("unix:").removeprefix("//").startswith("/")
            else (f"{_shown(url)}: write unix:///absolute/path.sock")
        )
    if "://" in url and not url.startswith("memcached://"):
        return f"{_shown(url)}: the scheme must be memcached:// (or none: host:port)"
    return _network(url if "://" in url else f"memcached://{url}", ("memcached",), False)


def http_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an HTTP base URL (``http://``, ``https://``, ``http+unix://``
    with a percent-encoded socket path); None when it can."""
    if url.lower().startswith("http+unix://"):
        return None if url[len("http+unix://") :] else f"{_shown(url)}: no socket path"
    return _network(url, HTTP_SCHEMES, default_port=True)


def _network(url: str, schemes: tuple[str, ...], default_port: bool) -> str | None:
    """A URL with one of ``schemes``, a host and a port in 1..65535 (or none when the
    scheme has a default); ``unix`` URLs need an absolute path instead."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        if "@" in url:  # the library's message may quote part of the password: not shown
            return (
                f"{_shown(url)}: cannot read its host and port; percent-encode / : @ "
                "in a user name or password (%2F %3A %40)"
            )
        return f"{_shown(url)}: not a valid URL ({exc})"
    if parts.scheme not in schemes:
        wanted = ", ".join(f"{s}://" for s in schemes)
        return f"{_shown(url)}: the scheme must be one of {wanted}"
    if parts.scheme == "unix":
        return None if parts.path.startswith("/") else f"{_shown(url)}: no socket path"
    if not parts.hostname:
        return f"{_shown(url)}: no host"
    if port == 0 or (port is None and not default_port):
        return f"{_shown(url)}: the port must be between 1 and 65535"
    return None


def _shown(url: str) -> str:
    return repr(mask_url(url))
