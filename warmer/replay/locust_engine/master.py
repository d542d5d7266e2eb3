"""The Locust master of warmer's Locust engine: a script warmer starts, never imports.

It builds a Locust ``MasterRunner`` (Locust as a library), binds where warmer says, waits
for the expected workers, spawns the users, then relays: warmer's frames (``wire.py``) on
the socket whose descriptor ``WARMER_LOCUST_FD`` names become Locust custom messages to
the phase's workers, and the workers' row batches go back to warmer undecoded. A watcher
reports a phase's worker that quits or stops sending heartbeats as lost. Settings come as
JSON in ``WARMER_LOCUST``: ``bind_host``, ``bind_port``, ``expect``, ``wait_s``, ``host``
(the target's base URL), ``users``, ``stop_timeout``, ``lost_after_s``, ``settings``.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before anything opens a socket, as Locust itself does on import

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import gevent  # noqa: E402
from gevent.queue import Queue  # noqa: E402
from locust.argument_parser import default_args_dict  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.log import setup_logging  # noqa: E402
from locust.runners import STATE_MISSING, MasterRunner  # noqa: E402

if TYPE_CHECKING or __package__:
    from warmer.replay.locust_engine import wire
    from warmer.replay.locust_engine.locustfile import Replay
else:  # run as a script: its directory is on sys.path
    import wire
    from locustfile import Replay

_WATCH_EVERY_S = 0.5


class Master:
    """One master: its runner, the workers that introduced themselves, the phase under way."""

    def __init__(self, config: dict[str, Any], control: socket.socket) -> None:
        self.config = config
        self.control = control
        self.outbox: Queue[bytes] = Queue()
        self.env = Environment(
            user_classes=[Replay], host=config["host"], parsed_options=_options(config)
        )
        self.env.stop_timeout = config["stop_timeout"]
        self.runner: MasterRunner = self.env.create_master_runner(
            config["bind_host"], config["bind_port"]
        )
        self.known: dict[str, dict[str, Any]] = {}
        """Workers that said hello (their clocks are measured), by Locust client id."""
        self.phase = 0
        self.ids: list[str] = []
        self.finished: set[str] = set()
        self.missing_since: dict[str, float] = {}
        handlers = {
            wire.FROM_WORKER_PING: self._on_ping,
            wire.FROM_WORKER_HELLO: self._on_hello,
            wire.FROM_WORKER_ROWS: self._on_rows,
            wire.FROM_WORKER_DONE: self._on_done,
        }
        for kind, handler in handlers.items():
            self.runner.register_message(kind, handler)

    # ----------------------------------------------------------- to warmer

    def send(self, kind: str, data: Any = None) -> None:
        """Queue a frame for warmer; Locust's message loop must never wait on warmer."""
        self.outbox.put(wire.frame(kind, data))

    def _pump(self) -> None:
        for data in self.outbox:
            self.control.sendall(data)

    # ----------------------------------------------------------- lifecycle

    def run(self) -> int:
        gevent.spawn(self._pump)
        self.send(wire.BOUND, {"port": self.runner.server.port})
        if not self._await_workers():
            return 3
        users = self.config["users"]
        self.runner.start(users, spawn_rate=users * 100)
        self.send(wire.READY, {"workers": [self._info(i) for i in self._live()]})
        gevent.spawn(self._watch)
        try:
            self._serve()
        finally:
            self.runner.quit()
            gevent.sleep(0.2)  # let the outbox drain
        return 0

    def _live(self) -> list[str]:
        clients = self.runner.clients
        ready = clients.ready + clients.spawning + clients.running
        return sorted(c.id for c in ready if c.id in self.known)

    def _await_workers(self) -> bool:
        expect, wait_s = self.config["expect"], self.config["wait_s"]
        deadline = time.monotonic() + wait_s
        while len(self._live()) < expect:
            if time.monotonic() >= deadline:
                self._give_up(expect, wait_s)
                return False
            gevent.sleep(0.1)
        return True

    def _give_up(self, expect: int, wait_s: float) -> None:
        joined = len(self._live())
        where = f"{self.config['bind_host']}:{self.runner.server.port}"
        message = (
            f"only {joined} of {expect} Locust workers joined the master at {where} "
            f"within {wait_s:g} s"
        )
        hint = (
            f"start `warmer locust-worker --master HOST:{self.runner.server.port}` on each "
            "load machine (HOST: an address of this one), or raise --workers-timeout"
        )
        self.send(wire.ERROR, {"message": message, "hint": hint})
        gevent.sleep(0.2)

    def _serve(self) -> None:
        reader = wire.FrameReader()
        while True:
            data = self.control.recv(1 << 16)
            if not data:
                return  # warmer is gone
            for kind, payload in reader.feed(data):
                if kind == wire.CLOSE:
                    return
                self._handle(kind, payload or {})

    # ----------------------------------------------------------- from warmer

    def _handle(self, kind: str, data: dict[str, Any]) -> None:
        if kind == wire.PHASE:
            self._begin_phase()
        elif kind == wire.START:
            start = {"p": self.phase, **data}
            for client in self.ids:
                self.runner.send_message(wire.TO_WORKER_START, start, client_id=client)
        elif kind == wire.JOBS:
            chunk = {"p": self.phase, "b": data["b"]}
            self.runner.send_message(wire.TO_WORKER_JOBS, chunk, client_id=self.ids[data["w"]])
        elif kind in (wire.END, wire.STOP):
            message = wire.TO_WORKER_END if kind == wire.END else wire.TO_WORKER_STOP
            for client in self.ids:
                self.runner.send_message(message, {"p": self.phase}, client_id=client)

    def _begin_phase(self) -> None:
        """Fix the phase's workers (waiting for replacements if some left) and tell warmer."""
        if not self._await_workers():
            return
        self.phase += 1
        self.ids = self._live()
        self.finished = set()
        self.send(wire.WORKERS, {"workers": [self._info(i) for i in self.ids]})

    def _info(self, client: str) -> dict[str, Any]:
        hello = self.known.get(client, {})
        return {"id": client, "host": hello.get("host", "?"), "address": hello.get("address", "?")}

    # ----------------------------------------------------------- from the workers

    def _on_ping(self, environment: Environment, msg: Any) -> None:
        pong = {"t": msg.data["t"], "m": time.time()}
        self.runner.send_message(wire.TO_WORKER_PONG, pong, client_id=msg.node_id)

    def _on_hello(self, environment: Environment, msg: Any) -> None:
        self.known[msg.node_id] = msg.data

    def _index(self, msg: Any) -> int | None:
        if msg.data.get("p") != self.phase or msg.node_id not in self.ids:
            return None  # a late batch of an earlier phase
        return self.ids.index(msg.node_id)

    def _on_rows(self, environment: Environment, msg: Any) -> None:
        index = self._index(msg)
        if index is not None:
            data = msg.data
            self.send(wire.ROWS, {"w": index, "b": data["b"], "n": data["n"], "d": data["d"]})

    def _on_done(self, environment: Environment, msg: Any) -> None:
        index = self._index(msg)
        if index is not None:
            self.finished.add(msg.node_id)
            done = {"w": index, "sent": msg.data["sent"], "dropped": msg.data["dropped"]}
            self.send(wire.DONE, done)

    def _watch(self) -> None:
        """Report a phase's worker that left or went silent before finishing the phase."""
        reported: set[tuple[int, str]] = set()
        while True:
            gevent.sleep(_WATCH_EVERY_S)
            for index, client in enumerate(self.ids):
                if client in self.finished or (self.phase, client) in reported:
                    continue
                why = self._why_lost(client)
                if why is not None:
                    reported.add((self.phase, client))
                    self.send(wire.LOST, {**self._info(client), "w": index, "why": why})

    def _why_lost(self, client: str) -> str | None:
        node = self.runner.clients.get(client)
        if node is None:
            return "it left the master"
        if node.state != STATE_MISSING:
            self.missing_since.pop(client, None)
            return None
        since = self.missing_since.setdefault(client, time.monotonic())
        if time.monotonic() - since < self.config["lost_after_s"]:
            return None
        return "it stopped sending heartbeats"


def _options(config: dict[str, Any]) -> argparse.Namespace:
    """Locust's default options plus ours, which Locust sends to workers with each spawn."""
    return argparse.Namespace(**default_args_dict(), warmer_settings=json.dumps(config["settings"]))


def main() -> int:
    config = json.loads(os.environ["WARMER_LOCUST"])
    setup_logging(config.get("loglevel", "WARNING"))  # type: ignore[no-untyped-call]
    control = socket.socket(fileno=int(os.environ["WARMER_LOCUST_FD"]))
    return Master(config, control).run()


if __name__ == "__main__":
    sys.exit(main())
