"""What replayed production traffic may do: methods, protected hosts, headers, redirects.

Redirect policy: the engines never follow redirects, to the same host or another. A 3xx
is recorded as the response it is. Following would send requests the sample never
contained (and warm keys it never asked for), and a cross-host redirect would send
production traffic somewhere other than the target; so nothing is followed at all.
"""

from __future__ import annotations

import base64
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from warmer.errors import UnsafeTargetError, UsageError
from warmer.model.sample import SampleRecord
from warmer.replay.target import Target

SAFE_METHODS: tuple[str, ...] = ("GET", "HEAD")
"""Replayed unless ``--allow-method`` names more."""

NEVER_METHODS = frozenset({"CONNECT", "TRACE"})
"""Refused even when named: they are not requests to a cache."""

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
        "expect",
    }
)
"""Recorded headers never copied: they describe the old connection, not the request."""

_CACHE_SIZE = 65536
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_BAD_TARGET = re.compile(r"[\s\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request ready to send: what the engines consume.

    ``head`` is the HTTP/1.1 request line and header block, serialized once so the fast
    engine only writes bytes; ``headers`` is the same header list for engines that build
    their own requests (httpx, Locust).
    """

    method: str
    path: str
    key: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    head: bytes


def check_protected(target: Target, protected_hosts: Iterable[str]) -> None:
    """Refuse a target whose host matches a protected pattern (exit 2)."""
    host = target.host.lower()
    for pattern in protected_hosts:
        if fnmatch.fnmatchcase(host, pattern.lower()):
            raise UnsafeTargetError(
                f"target host {target.host!r} is protected (matches {pattern!r})",
                "protected hosts are production; point --target at the candidate, "
                "or edit [safety] protected_hosts in warmer.toml",
            )


def check_methods(methods: Iterable[str]) -> frozenset[str]:
    """Validate ``--allow-method`` values; returns the upper-cased set."""
    allowed = set()
    for method in methods:
        upper = method.strip().upper()
        if not _TOKEN.match(upper) or upper in NEVER_METHODS:
            raise UnsafeTargetError(
                f"method {method!r} cannot be replayed",
                "allow-method takes HTTP method names such as POST or PUT (never CONNECT/TRACE)",
            )
        allowed.add(upper)
    return frozenset(allowed)


def parse_header(text: str) -> tuple[str, str]:
    """Parse ``--header "Name: value"``."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not _TOKEN.match(name) or _BAD_VALUE.search(value):
        raise UsageError(f"cannot read header {text!r}", 'write --header "Name: value"')
    return name, value


@dataclass(frozen=True)
class RequestPolicy:
    """Turns recorded requests into safe requests for the target.

    ``add_headers`` override recorded ones of the same name; ``drop_headers`` are
    fnmatch patterns over lower-case names. The Host header is the target's unless
    ``preserve_host`` is set and the record has one.
    """

    target: Target
    allow_methods: frozenset[str] = frozenset(SAFE_METHODS)
    add_headers: Mapping[str, str] = field(default_factory=dict)
    drop_headers: tuple[str, ...] = ()
    preserve_host: bool = False
    user_agent: str = "warmer"
    _cache: dict[tuple[Any, ...], PreparedRequest] = field(
        default_factory=dict, compare=False, repr=False
    )

    def skip_reason(self, record: SampleRecord) -> str | None:
        """Why ``record`` must not be sent (``"method"``, ``"invalid"``), or ``None``."""
        if record.method.upper() not in self.allow_methods:
            return "method"
        if not record.target.startswith("/") or _BAD_TARGET.search(record.target):
            return "invalid"
        return None

    def prepare(self, record: SampleRecord) -> PreparedRequest:
        """The request to send for ``record`` (call :meth:`skip_reason` first).

        Samples repeat the same requests (that is what makes them cacheable), so
        prepared requests are memoised on everything that goes into them.
        """
        memo = (
            record.method,
            record.target,
            record.key,
            record.host,
            tuple(record.headers.items()) if record.headers else (),
            record.body,
        )
        prepared = self._cache.get(memo)
        if prepared is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            prepared = self._cache[memo] = self._prepare(record)
        return prepared

    def _prepare(self, record: SampleRecord) -> PreparedRequest:
        method = record.method.upper()
        path = self.target.prefix + record.target
        headers = self._headers(record)
        body = base64.b64decode(record.body) if record.body else None
        lines = [f"{method} {path} HTTP/1.1"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        return PreparedRequest(method, path, record.key, tuple(headers), body, head)

    def _headers(self, record: SampleRecord) -> list[tuple[str, str]]:
        host = self.target.authority
        if self.preserve_host:
            host = record.headers.get("host") or record.host or host
        out = [("Host", host)]
        added = {name.lower() for name in self.add_headers}
        for name, value in record.headers.items():
            lower = name.lower()
            if lower in HOP_BY_HOP or lower in added or self._dropped(lower):
                continue
            if not _TOKEN.match(name) or _BAD_VALUE.search(value):
                continue  # untrusted input: never let it split the header block
            out.append((name, value))
        out.extend(self.add_headers.items())
        if "user-agent" not in {n.lower() for n, _ in out}:
            out.append(("User-Agent", self.user_agent))
        return out

    def _dropped(self, lower: str) -> bool:
        return any(fnmatch.fnmatchcase(lower, p.lower()) for p in self.drop_headers)
