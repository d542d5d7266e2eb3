"""Single GETs for the probes after verify: what one response says about an object's version.

The stale-read and invalidation probes fetch a few hundred objects, not a replay: a small
httpx client is enough, and the version of an object is what they compare —
``ETag``, ``Last-Modified`` and the body digest (``warmer.model.results.body_digest``,
the same CRC-32 the replay records).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warmer.model.results import body_digest

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Version:
    """What a response says about the object's version; ``error`` when there was none."""

    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    digest: int | None = None
    error: str | None = None

    @property
    def usable(self) -> bool:
        """A 200 whose version can be compared."""
        return self.error is None and self.status == 200

    def differs(self, other: Version) -> tuple[str, ...]:
        """Which of ``etag``, ``last-modified``, ``body`` differ (compared when both have it)."""
        pairs = (
            ("etag", self.etag, other.etag),
            ("last-modified", self.last_modified, other.last_modified),
            ("body", self.digest, other.digest),
        )
        return tuple(name for name, a, b in pairs if a is not None and b is not None and a != b)

    def describe(self) -> str:
        """``ETag "ab12", Last-Modified …, body crc32 1a2b3c4d`` (or the error)."""
        if self.error is not None:
            return f"no response ({self.error})"
        parts = [f"status {self.status}"]
        if self.etag is not None:
            parts.append(f"ETag {self.etag}")
        if self.last_modified is not None:
            parts.append(f"Last-Modified {self.last_modified}")
        if self.digest is not None:
            parts.append(f"body crc32 {self.digest:08x}")
        return ", ".join(parts)


def client(timeout_s: float, *, unix_socket: str | None = None, verify: bool = True) -> Any:
    """An ``httpx.AsyncClient`` that follows no redirect (a probe reads what it is given)."""
    import httpx

    transport = httpx.AsyncHTTPTransport(uds=unix_socket, verify=verify) if unix_socket else None
    return httpx.AsyncClient(
        timeout=timeout_s, follow_redirects=False, transport=transport, verify=verify
    )


async def fetch(client: httpx.AsyncClient, url: str, headers: Mapping[str, str]) -> Version:
    """GET ``url`` with ``headers``; a transport failure is a :class:`Version` with ``error``."""
    import httpx

    try:
        response = await client.get(url, headers=dict(headers))
    except httpx.HTTPError as exc:
        return Version(error=type(exc).__name__)
    return Version(
        response.status_code,
        response.headers.get("etag"),
        response.headers.get("last-modified"),
        body_digest(response.content),
    )
