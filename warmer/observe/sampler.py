"""Sample every live observer on an interval in a background thread, and on demand at boundaries.

The replay engine runs an asyncio loop in the main thread; this thread wakes once per
``interval_s``, does a few milliseconds of blocking I/O (which releases the GIL) and parses
a little text, so replay throughput is not measurably affected (``scripts/bench``). A
source that fails or times out contributes ``None`` to that sample — missing data, never
zeros — and sampling goes on; :meth:`Sampler.silent_since` tells since when a source has
not answered, so a run can stop once a required one is gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

from warmer.observe.interface import Observer, TierSnapshot


@dataclass(frozen=True)
class Sample:
    """Every observer read at one instant; ``label`` names a phase boundary, if it is one."""

    t: float
    """Seconds since the sampler was created."""
    snapshots: Mapping[str, TierSnapshot | None]
    label: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "t": round(self.t, 3),
            "label": self.label,
            "sources": {
                name: None if snap is None else _json_snapshot(snap)
                for name, snap in self.snapshots.items()
            },
        }


def _json_snapshot(snap: TierSnapshot) -> dict[str, object]:
    return {k: v for k, v in asdict(snap).items() if v is not None and k != "at"}


class Sampler:
    """Background sampling of ``observers`` (keyed by their ``name``) into a timeline."""

    def __init__(
        self,
        observers: Sequence[Observer],
        interval_s: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.observers = {o.name: o for o in observers}
        self.interval_s = interval_s
        self._clock = clock
        self._origin = clock()
        self._timeline: list[Sample] = []
        self._lock = threading.Lock()  # serialises observer calls and timeline appends
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._silent: dict[str, float] = {}
        """Source → time of the first of its latest run of unanswered reads."""

    def start(self) -> None:
        """Start the sampling thread (a daemon: it never keeps the process alive)."""
        if self._thread is not None or not self.observers:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="warmer-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it; idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def snapshot_all(self, label: str | None = None) -> Sample:
        """Read every observer now (from the caller's thread) and add it to the timeline."""
        with self._lock:
            snapshots = {name: _safe(o) for name, o in self.observers.items()}
            sample = Sample(self._clock() - self._origin, snapshots, label)
            self._timeline.append(sample)
            for name, snapshot in snapshots.items():
                if snapshot is None:
                    self._silent.setdefault(name, sample.t)
                else:
                    self._silent.pop(name, None)
        return sample

    def now(self) -> float:
        """Seconds since the sampler was created (the timeline's clock)."""
        return self._clock() - self._origin

    def silent_since(self, name: str) -> float | None:
        """When source ``name`` last began not answering (timeline seconds); None if it answers."""
        with self._lock:
            return self._silent.get(name)

    @property
    def timeline(self) -> tuple[Sample, ...]:
        with self._lock:
            return tuple(self._timeline)

    def series(
        self, name: str, start: str | None = None, end: str | None = None
    ) -> list[tuple[float, TierSnapshot | None]]:
        """(t, snapshot) of source ``name`` from boundary ``start`` to ``end``, inclusive."""
        points: list[tuple[float, TierSnapshot | None]] = []
        inside = start is None
        for sample in self.timeline:
            inside = inside or sample.label == start
            if inside and name in sample.snapshots:
                points.append((sample.t, sample.snapshots[name]))
            if end is not None and sample.label == end and inside:
                break
        return points

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.snapshot_all()


def _safe(observer: Observer) -> TierSnapshot | None:
    try:
        return observer.snapshot()
    except Exception:  # a broken observer must never stop the run: no data for this sample
        return None
