"""What the gate needs from the observe stage, as one small interface, and its adapters.

The gate asks observers four things: are you reachable (preflight), sample in the
background while traffic flows, snapshot at each phase boundary, and afterwards turn what
you saw into per-phase tier and backend figures plus warmup curves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from warmer.model.run import BackendMetrics, LoadPoint, TierCurve, TierMetrics

if TYPE_CHECKING:
    import pyarrow as pa

BOUNDARIES = ("warm_start", "warm_end", "verify_start", "verify_end")
"""Phase boundaries at which every observer is snapshotted."""


@dataclass(frozen=True)
class PhaseObservation:
    """What the observers saw during one phase."""

    tiers: tuple[TierMetrics, ...] = ()
    effective_hit_rate: float | None = None
    backend: BackendMetrics = field(default_factory=BackendMetrics)
    extra: Mapping[str, float | None] = field(default_factory=dict)
    """Evidence outside the report model, in vocabulary names (``l1.expirations`` ...)."""
    backend_gap: float | None = None
    """Relative disagreement between the backend counter and the tier counts."""


class Observation(Protocol):
    """The observers of one gate run (contract used by :mod:`warmer.gate.run`)."""

    def preflight(self) -> None:
        """Raise ``ObserverUnreachableError`` when a required source does not answer."""

    def start(self) -> None:
        """Begin sampling in the background."""

    def boundary(self, name: str) -> None:
        """Snapshot every source at a phase boundary (one of ``BOUNDARIES``)."""

    def stop(self) -> None:
        """Stop sampling; idempotent."""

    def phase(self, name: str, results: pa.Table) -> PhaseObservation:
        """Tier and backend figures of phase ``name`` (its rows of the results table)."""

    def curves(self, results: pa.Table) -> tuple[TierCurve, ...]:
        """Rolling hit-rate curves per tier (and ``effective``) over the whole run."""

    def backend_load(self) -> list[LoadPoint]:
        """Backend requests per second over the run (empty without a backend source)."""

    def missing(self) -> dict[str, str]:
        """Source name → why it gave no data (empty when all reported)."""

    def timelines(self) -> Any:
        """The raw samples over time, JSON-ready (written to ``timelines.json``)."""


class NoObservation:
    """The observation of a run with no tiers and no backend configured."""

    def preflight(self) -> None:
        return None

    def start(self) -> None:
        return None

    def boundary(self, name: str) -> None:
        return None

    def stop(self) -> None:
        return None

    def phase(self, name: str, results: pa.Table) -> PhaseObservation:
        return PhaseObservation()

    def curves(self, results: pa.Table) -> tuple[TierCurve, ...]:
        return ()

    def backend_load(self) -> list[LoadPoint]:
        return []

    def missing(self) -> dict[str, str]:
        return {}

    def timelines(self) -> Any:
        return []
