"""Build the gate's :class:`~warmer.gate.observation.Observation` from ``[tiers]``/``[backend]``."""

from __future__ import annotations

from warmer.config.schema import Config
from warmer.gate.observation import NoObservation, Observation


def build_observation(config: Config) -> Observation:
    """The observers the config names; :class:`NoObservation` when it names none."""
    if not config.tiers and config.backend is None:
        return NoObservation()
    from warmer.gate.observing import ObserverSet

    return ObserverSet.from_config(config)
