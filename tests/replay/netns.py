"""Two Linux network namespaces joined by a veth pair: a master host and a load host.

Created with ``ip netns`` / ``ip link`` and removed again by :class:`Topology`; it needs
root (CAP_SYS_ADMIN and CAP_NET_ADMIN). :meth:`Topology.inside` moves the calling thread
into a namespace for a while, so servers started there (and their readiness checks) live
in it; ``exec_in`` prefixes a command line to run it in one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
from collections.abc import Iterator

_CLONE_NEWNET = 0x40000000

MASTER_IP = "10.77.0.1"
WORKERS_IP = "10.77.0.2"


def unavailable() -> str | None:
    """Why the topology cannot be built here (no privilege), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    probe = f"wprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=False)
    return None


class Topology:
    """Namespaces ``master`` (MASTER_IP) and ``workers`` (WORKERS_IP), veth between them."""

    def __init__(self) -> None:
        tag = os.getpid()
        self.master = f"wm{tag}"
        self.workers = f"ww{tag}"
        self._veth = (f"wm{tag}v", f"ww{tag}v")

    def __enter__(self) -> Topology:
        try:
            self._create()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def _create(self) -> None:
        master_end, workers_end = self._veth
        commands = [
            ["ip", "netns", "add", self.master],
            ["ip", "netns", "add", self.workers],
            ["ip", "link", "add", master_end, "type", "veth", "peer", "name", workers_end],
            ["ip", "link", "set", master_end, "netns", self.master],
            ["ip", "link", "set", workers_end, "netns", self.workers],
            ["ip", "-n", self.master, "addr", "add", f"{MASTER_IP}/24", "dev", master_end],
            ["ip", "-n", self.workers, "addr", "add", f"{WORKERS_IP}/24", "dev", workers_end],
        ]
        for ns, device in ((self.master, master_end), (self.workers, workers_end)):
            commands += [["ip", "-n", ns, "link", "set", name, "up"] for name in ("lo", device)]
        for command in commands:
            subprocess.run(command, check=True, capture_output=True)

    def remove(self) -> None:
        """Kill whatever still runs in the namespaces, then delete them (and the veth pair)."""
        for ns in (self.master, self.workers):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)

    @staticmethod
    def exec_in(ns: str, command: list[str]) -> list[str]:
        """``command`` run inside namespace ``ns``."""
        return ["ip", "netns", "exec", ns, *command]

    @contextlib.contextmanager
    def inside(self, ns: str) -> Iterator[None]:
        """The calling thread in namespace ``ns`` (children it starts stay there)."""
        libc = ctypes.CDLL(None, use_errno=True)
        with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{ns}") as there:
            if libc.setns(there.fileno(), _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {ns} failed")
            try:
                yield
            finally:
                if libc.setns(home.fileno(), _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back home failed")
