"""``warmer locust-worker --master HOST:PORT``: a load machine for the Locust engine."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import click

from warmer.cli._types import bounded


@click.command("locust-worker")
@click.option(
    "--master", required=True, metavar="HOST[:PORT]",
    help="Where the run's master listens (its --master-bind); port 5557 if left out.",
)  # fmt: skip
@click.option(
    "--processes", type=bounded(1, 1024, integer=True), default=1, show_default=True,
    help="Worker processes on this machine (one per core is usual).",
)  # fmt: skip
@click.option(
    "--once", is_flag=True, help="Serve one run, then exit (this process becomes the worker)."
)
def locust_worker(master: str, processes: int, once: bool) -> None:
    """Send the traffic of a warmer run whose master listens at --master.

    \b
    Run it on each load machine (or as a Kubernetes Deployment); the gate or replay waits
    for --expect-workers of them, shards the sample by cache key across them, and gets
    every response back. Between runs the worker reconnects by itself, ready for the
    next one. Locust runs in a child process (or, with --once, replaces this one).
    Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad --master or Locust not installed.
    """
    from warmer.replay.locust_engine.commands import worker_command
    from warmer.replay.locust_engine.options import DEFAULT_PORT, parse_host_port

    host, port = parse_host_port(master, DEFAULT_PORT, "--master")
    if once:
        command = worker_command(host, port, processes)
        sys.stderr.flush()
        os.execv(command[0], command)
    from warmer.replay.locust_engine.worker import WorkerExited, WorkerStarted, serve

    def narrate(event: Any) -> None:
        if isinstance(event, WorkerStarted):
            click.echo(
                f"locust-worker: worker {event.pid} serving the master at {event.master}", err=True
            )
        elif isinstance(event, WorkerExited):
            again = f"a new one in {event.again_in_s:g} s"
            click.echo(f"locust-worker: worker exited with code {event.code}; {again}", err=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.set())
    serve(host, port, processes=processes, stop=stop, on_event=narrate)
    click.echo("locust-worker: stopped", err=True)
