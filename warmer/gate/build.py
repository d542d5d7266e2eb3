"""Build the gate's :class:`~warmer.gate.observation.Observation` from ``[tiers]``/``[backend]``."""

from __future__ import annotations

from warmer.config.schema import Config
from warmer.errors import UsageError
from warmer.gate.observation import NoObservation, Observation


def build_observation(config: Config) -> Observation:
    """The observers the config names; :class:`NoObservation` when it names none."""
    if not config.tiers and config.backend is None:
        return NoObservation()
    raise UsageError(
        "the gate cannot observe [tiers] / [backend] yet (the observe stage is not wired in)",
        "remove [tiers] and [backend] to gate on latency and errors only",
    )
