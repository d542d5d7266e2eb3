"""Where the Locust master listens and which workers it waits for before sending anything."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warmer.errors import UsageError

if TYPE_CHECKING:
    from warmer.config.schema import ReplayConfig

DEFAULT_PORT = 5557
"""Locust's own default master port, used when ``--master-bind`` names a host only."""

_ANY = {"", "*", "0.0.0.0"}


@dataclass(frozen=True)
class LocustOptions:
    """How a Locust cluster is laid out; :meth:`validate` raises the usage error a bad one meets."""

    workers: int = 1
    """Worker processes started on this machine (``--workers``; 0 when all are remote)."""
    expect: int | None = None
    """Workers to wait for before any request is sent (default: ``workers``)."""
    bind: str | None = None
    """``HOST[:PORT]`` the master listens on (default: 127.0.0.1 on a free port)."""
    wait_s: float = 60.0
    """How long to wait for the expected workers before giving up (exit 3)."""

    @classmethod
    def from_config(cls, replay: ReplayConfig) -> LocustOptions:
        """The ``[replay]`` settings (``processes``, ``expect_workers`` ...) as options."""
        return cls(
            workers=replay.processes,
            expect=replay.expect_workers,
            bind=replay.master_bind,
            wait_s=replay.workers_timeout_s,
        )

    @property
    def expected(self) -> int:
        """Workers a phase needs."""
        return self.workers if self.expect is None else self.expect

    def validate(self) -> None:
        """Raise ``UsageError`` (exit 2) for impossible counts or a bad bind address."""
        if self.workers < 0:
            raise UsageError("--workers must not be negative")
        if self.expected < 1:
            raise UsageError(
                "the locust engine has no workers to wait for",
                "pass --workers N (local) or --expect-workers N for `warmer locust-worker`s",
            )
        if self.expected < self.workers:
            raise UsageError(
                f"--expect-workers {self.expected} is fewer than the {self.workers} local workers",
                "expect at least the local workers, plus any remote ones",
            )
        if not self.wait_s > 0:
            raise UsageError("--workers-timeout must be greater than 0 seconds")
        self.address()

    def address(self) -> tuple[str, int]:
        """The master's bind host and port (port 0 = a free one)."""
        if self.bind is None:
            return "127.0.0.1", 0
        return parse_host_port(self.bind, DEFAULT_PORT, "--master-bind")

    def local_master_host(self) -> str:
        """The address local workers connect to: the bind host, or loopback for a wildcard."""
        host, _ = self.address()
        if host in _ANY:
            return "127.0.0.1"
        return "::1" if host == "::" else host


def parse_host_port(text: str, default_port: int, option: str) -> tuple[str, int]:
    """Parse ``HOST[:PORT]`` (IPv6 as ``[ADDR]:PORT`` or bare); ``UsageError`` naming ``option``."""
    text = text.strip()
    host, port_text, ok = text, "", True
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        ok = bool(bracket) and (not rest or rest.startswith(":"))
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif ":" in text:
        ok = _is_ip(text)  # a bare IPv6 address, no port
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        port, ok = -1, False
    if not ok or not 0 <= port <= 65535 or not (host or text.startswith(":")):
        raise UsageError(
            f"cannot read {option} {text!r}", "write HOST[:PORT], e.g. 10.0.0.5:5557 or [fd00::5]"
        )
    return host or "0.0.0.0", port


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
