"""Observe a Memcached tier through its ``stats`` command: get hits and misses, evictions, items."""

from __future__ import annotations

import socket
import time

from warmer.credentials import mask_url
from warmer.observe._common import unreachable
from warmer.observe.interface import TierSnapshot
from warmer.observe.parsers.memcached_stats import MemcachedStats, parse_stats

_MAX_REPLY = 1 << 20


def parse_address(url: str) -> tuple[int, str | tuple[str, int]]:
    """Socket family and address of ``host:port``, ``memcached://host:port`` or ``unix:///path``.

    Raises ValueError for anything else.
    """
    if url.startswith("unix:"):
        path = url.removeprefix("unix:").removeprefix("//")
        if not path.startswith("/"):
            raise ValueError(f"not an absolute socket path: {mask_url(url)!r}")
        return socket.AF_UNIX, path
    hostport = url.removeprefix("memcached://").rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected host:port, got {mask_url(url)!r}")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port))


class MemcachedObserver:
    """Sends ``stats`` on a fresh connection per snapshot (once a second is cheap)."""

    source = "memcached"

    def __init__(self, name: str, url: str, *, timeout_s: float = 2.0) -> None:
        self.name = name
        self.address = mask_url(url)
        self._family, self._where = parse_address(url)
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"MemcachedObserver(name={self.name!r}, address={self.address!r})"

    def preflight(self) -> None:
        """Send ``stats`` once; ObserverUnreachableError (exit 3) when it fails."""
        try:
            self._stats()
        except OSError as exc:
            raise unreachable(self.name, "Memcached", self.address, str(exc)) from exc

    def snapshot(self) -> TierSnapshot | None:
        """Counters and gauges from ``stats`` now, or None when the server does not answer."""
        try:
            text = self._stats()
        except OSError:
            return None
        return snapshot_from_stats(parse_stats(text), time.monotonic())

    def close(self) -> None:
        """Nothing held between snapshots."""

    def _stats(self) -> str:
        with socket.socket(self._family, socket.SOCK_STREAM) as sock:
            sock.settimeout(self._timeout_s)
            sock.connect(self._where)
            sock.sendall(b"stats\r\n")
            reply = b""
            while not reply.endswith(b"END\r\n"):
                chunk = sock.recv(65536)
                if not chunk or len(reply) > _MAX_REPLY:
                    raise ConnectionError("memcached closed the connection mid-reply")
                reply += chunk
        return reply.decode("utf-8", "replace")


def snapshot_from_stats(stats: MemcachedStats, at: float) -> TierSnapshot:
    """Map ``stats`` onto a snapshot; ``pid`` identifies the process.

    Memcached counts no expirations as such (expired items are reclaimed lazily), so
    ``expirations`` is left empty rather than guessed.
    """
    pid = stats.number("pid")
    return TierSnapshot(
        at=at,
        hits=stats.number("get_hits"),
        misses=stats.number("get_misses"),
        evictions=stats.number("evictions"),
        keys=stats.number("curr_items"),
        memory_bytes=stats.number("bytes"),
        max_memory_bytes=stats.number("limit_maxbytes"),
        eviction_policy="lru",
        instance=str(pid) if pid is not None else None,
        malformed=stats.malformed,
    )
