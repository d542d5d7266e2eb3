"""A one-off look at every configured tier and the backend: reachable, and what it counts now."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from warmer.config.schema import Config
from warmer.observe.build import Reachability, build_observers, preflight
from warmer.observe.interface import TierSnapshot
from warmer.observe.metrics import hit_rate


@dataclass(frozen=True)
class SourceStatus:
    """One source: its preflight outcome and, when it answered, its current counters."""

    reach: Reachability
    snapshot: TierSnapshot | None = None
    shared: bool = False

    @property
    def hit_rate(self) -> float | None:
        """Hit rate since the source's process started (its counters are cumulative)."""
        return hit_rate(self.snapshot.hits, self.snapshot.misses) if self.snapshot else None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = dataclasses.asdict(self.reach)
        data["shared"] = self.shared
        data["hit_rate"] = self.hit_rate
        snap = dataclasses.asdict(self.snapshot) if self.snapshot else None
        if snap is not None:
            snap.pop("at")
        data["counters"] = snap
        return data


def observe_now(config: Config) -> list[SourceStatus]:
    """Preflight and snapshot every source once (header tiers: reachability None)."""
    observers = build_observers(config)
    try:
        found = []
        for reach in preflight(observers):
            observer = observers.live.get(reach.name)
            snapshot = observer.snapshot() if observer is not None and reach.reachable else None
            shared = observers.sources[reach.name].shared
            found.append(SourceStatus(reach, snapshot, shared))
        return found
    finally:
        observers.close()
