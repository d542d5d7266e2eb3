"""Build the gate's :class:`~warmer.gate.observation.Observation` from ``[tiers]``/``[backend]``."""

from __future__ import annotations

from warmer.config.schema import Config
from warmer.gate.observation import Observation


def build_observation(config: Config) -> Observation:
    """The observe stage's session over the sources the config names (possibly none)."""
    from warmer.observe.session import ObserveSession

    return ObserveSession(config)
