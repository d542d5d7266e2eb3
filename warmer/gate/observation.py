"""What the gate needs from the observe stage: one small interface over an observed run.

The gate asks five things: are the required sources reachable (preflight), sample while
the phases run, mark each phase boundary, has a required source gone away meanwhile, and
afterwards hand over every figure at once.
:class:`warmer.observe.session.ObserveSession` is the implementation; a test or an
embedding tool can pass any object with these methods to ``run_gate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.observe.session import RunFigures

BOUNDARIES = ("warm_start", "warm_end", "verify_start", "verify_end")
"""Phase boundaries the gate marks, in order."""


class Observation(Protocol):
    """The observers of one gate run (contract used by :mod:`warmer.gate.run`)."""

    def preflight(self) -> None:
        """Raise ``ObserverUnreachableError`` (exit 3) when a required source does not answer."""

    def sampling(self) -> AbstractContextManager[None]:
        """Sample in the background for the duration of the ``with`` block, then release."""

    def boundary(self, name: str) -> None:
        """Snapshot every source at a phase boundary (one of ``BOUNDARIES``)."""

    def lost(self) -> Mapping[str, str]:
        """Required sources that stopped answering while sampling → a sentence saying when.

        The gate polls this while traffic flows and ends the run with exit 3 when it is
        not empty: a tier that went away is never read as an unused tier or a pass.
        """

    def figures(self, results: pa.Table) -> RunFigures:
        """Per-phase tier and backend figures, curves, backend load, missing sources and the
        raw timelines, from the run's results table (its ``phase`` column names the rows)."""
