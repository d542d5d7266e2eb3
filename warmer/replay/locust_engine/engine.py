"""``LocustEngine``: the engine object ``--engine locust`` runs (see the package docstring)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from warmer.errors import UsageError
from warmer.replay.engine import EngineSettings, Job, Sink
from warmer.replay.locust_engine.commands import locust_command
from warmer.replay.locust_engine.options import LocustOptions

if TYPE_CHECKING:
    from warmer.replay.locust_engine.cluster import Cluster


class LocustEngine:
    """``--engine locust``: FastHttpUser workers under one master, for load beyond one machine."""

    name = "locust"

    def __init__(self, options: LocustOptions | None = None) -> None:
        self.options = options or LocustOptions()
        self.options.validate()
        locust_command()
        self._cluster: Cluster | None = None
        self._shared = False

    def run(
        self, jobs: Iterator[Job], settings: EngineSettings, sink: Sink, stop: threading.Event
    ) -> None:
        from warmer.replay.locust_engine.phase import PhaseRun

        cluster = self._cluster_for(settings)
        try:
            PhaseRun(cluster, sink, stop, settings.duration_s).run(jobs)
        except BaseException:
            self.close()  # workers in an unknown state are not reused
            raise
        if not self._shared:
            self.close()

    def open(self, settings: EngineSettings) -> None:
        """Start the master and wait for the workers now, and keep them until :meth:`close`."""
        self._shared = True
        self._cluster_for(settings)

    def close(self) -> None:
        """Let the workers go and stop the processes this engine started."""
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.close()

    def __enter__(self) -> LocustEngine:
        self._shared = True
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._shared = False
        self.close()

    def _cluster_for(self, settings: EngineSettings) -> Cluster:
        _check(settings)
        if self._cluster is not None and _users_key(self._cluster.settings) != _users_key(settings):
            self.close()  # users are made for one target and timeout
        if self._cluster is None:
            from warmer.replay.locust_engine.cluster import Cluster

            cluster = Cluster(self.options, settings)
            try:
                cluster.start()
            except BaseException:
                cluster.close()
                raise
            self._cluster = cluster
        return self._cluster


def _users_key(settings: EngineSettings) -> tuple[object, ...]:
    """What the workers' users are made for (duration and retries may change per replay)."""
    s = settings
    return (s.target, s.concurrency, s.timeout_s, s.verify_tls, s.ca_file)


def _check(settings: EngineSettings) -> None:
    if settings.target.unix_socket:
        raise UsageError("the locust engine cannot use Unix-socket targets", "use --engine fast")
    if settings.http2:
        raise UsageError("the locust engine speaks HTTP/1.1 only", "use --engine httpx --http2")
