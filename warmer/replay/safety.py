"""What replayed production traffic may do: methods, protected hosts, headers, redirects.

Every engine sends what :class:`RequestPolicy` prepared, in the form ``wire.py`` defines:
one rule for targets, header names and values, ``Host`` and added headers.

Redirect policy: the engines never follow redirects, to the same host or another. A 3xx
is recorded as the response it is. Following would send requests the sample never
contained (and warm keys it never asked for), and a cross-host redirect would send
production traffic somewhere other than the target; so nothing is followed at all.
"""

from __future__ import annotations

import base64
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from warmer.errors import UnsafeTargetError, UsageError
from warmer.model.sample import SampleRecord
from warmer.replay.target import Target
from warmer.replay.wire import encode_host, encode_target, field_ok, field_value, is_token

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

SKIP_REASONS: dict[str, str] = {
    "method": "the method is not allowed (--allow-method)",
    "invalid": "the target is not an origin-form path that can be sent",
    "header": "a recorded header name or value is not valid HTTP (RFC 9110) or not ISO-8859-1",
    "host": "--preserve-host: the recorded Host is not a host[:port]",
    "body": "the recorded body is not base64",
}
"""Why a record is not sent; counted per reason in the replay summary."""


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request ready to send: what the engines consume.

    ``head`` is the HTTP/1.1 request line and header block, serialized once so the fast
    engine only writes bytes; ``headers`` is the same header list for engines that build
    their own requests (httpx, Locust), each name once (case-insensitively), ``Host``
    first; ``path`` is the request target exactly as sent (``warmer/replay/wire.py``).
    """

    method: str
    path: str
    key: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    head: bytes


def check_protected(
    target: Target, protected_hosts: Iterable[str], *, resolve: bool = True
) -> None:
    """Refuse a target whose host is protected (exit 2); see :mod:`warmer.replay.hosts`."""
    from warmer.replay.hosts import protected_match

    if target.unix_socket:
        resolve = False  # the connection goes to a local socket, whatever the host says
    pattern = protected_match(target.host, tuple(protected_hosts), resolve=resolve)
    if pattern is not None:
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
        if not is_token(upper) or upper in NEVER_METHODS:
            raise UnsafeTargetError(
                f"method {method!r} cannot be replayed",
                "allow-method takes HTTP method names such as POST or PUT (never CONNECT/TRACE)",
            )
        allowed.add(upper)
    return frozenset(allowed)


def parse_header(text: str) -> tuple[str, str]:
    """Parse ``--header "Name: value"`` (a valid RFC 9110 field, ISO-8859-1)."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), field_value(value)
    if not sep or not field_ok(name, value):
        raise UsageError(
            f"cannot read header {text!r}",
            'write --header "Name: value" (a token name; visible ISO-8859-1 characters)',
        )
    return name, value


@dataclass(frozen=True)
class RequestPolicy:
    """Turns recorded requests into safe requests for the target.

    Headers, the same rule for every engine: a name is sent once, case-insensitively; an
    ``add_headers`` entry replaces a recorded or default header of the same name (``Host``
    and ``User-Agent`` included); ``drop_headers`` are fnmatch patterns over lower-case
    names. ``Host`` is the target's, or with ``preserve_host`` the record's when it has
    one. A record whose target, Host or kept headers cannot be sent as valid HTTP is
    skipped with a reason (:data:`SKIP_REASONS`), never sent altered.
    """

    target: Target
    allow_methods: frozenset[str] = frozenset(SAFE_METHODS)
    add_headers: Mapping[str, str] = field(default_factory=dict)
    drop_headers: tuple[str, ...] = ()
    preserve_host: bool = False
    user_agent: str = "warmer"
    _cache: dict[tuple[Any, ...], PreparedRequest | str] = field(
        default_factory=dict, compare=False, repr=False
    )
    _last: list[Any] = field(default_factory=lambda: [None, None], compare=False, repr=False)

    def skip_reason(self, record: SampleRecord) -> str | None:
        """Why ``record`` must not be sent (a key of :data:`SKIP_REASONS`), or ``None``."""
        if record.method.upper() not in self.allow_methods:
            return "method"
        prepared = self._lookup(record)
        return prepared if isinstance(prepared, str) else None

    def prepare(self, record: SampleRecord) -> PreparedRequest:
        """The request to send for ``record`` (call :meth:`skip_reason` first)."""
        prepared = self._lookup(record)
        if isinstance(prepared, str):
            raise ValueError(f"record cannot be sent: {SKIP_REASONS[prepared]}")
        return prepared

    def _lookup(self, record: SampleRecord) -> PreparedRequest | str:
        """Samples repeat the same requests (that is what makes them cacheable), so
        prepared requests are memoised on everything that goes into them; the last one
        is at hand, since ``skip_reason`` and ``prepare`` ask for the same record."""
        if self._last[0] is record:
            result: PreparedRequest | str = self._last[1]
            return result
        memo = (
            record.method,
            record.target,
            record.key,
            record.host,
            tuple(record.headers.items()) if record.headers else (),
            record.body,
        )
        result = self._cache.get(memo) or self._store(memo, record)
        last = self._last
        last[0], last[1] = record, result
        return result

    def _store(self, memo: tuple[Any, ...], record: SampleRecord) -> PreparedRequest | str:
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        prepared = self._cache[memo] = self._prepare(record)
        return prepared

    def _prepare(self, record: SampleRecord) -> PreparedRequest | str:
        method = record.method.upper()
        path = encode_target(self.target.prefix + record.target)
        if path is None:
            return "invalid"
        headers = self._headers(record)
        if isinstance(headers, str):
            return headers
        try:
            body = base64.b64decode(record.body, validate=True) if record.body else None
        except ValueError:  # binascii.Error
            return "body"
        lines = [f"{method} {path} HTTP/1.1"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return PreparedRequest(method, path, record.key, tuple(headers), body, head)

    def _headers(self, record: SampleRecord) -> list[tuple[str, str]] | str:
        """The header list to send, or the skip reason."""
        host = self._host(record)
        if host is None:
            return "host"
        out: dict[str, tuple[str, str]] = {"host": ("Host", host)}
        for name, value in record.headers.items():
            lower = name.lower()
            if lower in HOP_BY_HOP or self._dropped(lower):
                continue
            value = field_value(value)
            if not field_ok(name, value):
                return "header"  # untrusted input: never let it split the header block
            out[lower] = (name, value)
        for name, value in self.add_headers.items():
            out[name.lower()] = (name, value)  # replaces in place: Host stays first
        out.setdefault("user-agent", ("User-Agent", self.user_agent))
        return list(out.values())

    def _host(self, record: SampleRecord) -> str | None:
        if not self.preserve_host:
            return self.target.authority
        recorded = next((v for k, v in record.headers.items() if k.lower() == "host"), None)
        recorded = recorded or record.host
        return encode_host(recorded) if recorded else self.target.authority

    def _dropped(self, lower: str) -> bool:
        return any(fnmatch.fnmatchcase(lower, p.lower()) for p in self.drop_headers)
