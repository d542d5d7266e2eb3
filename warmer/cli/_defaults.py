"""Map ``warmer.toml`` onto click's ``default_map`` so precedence is flag > env > file > default.

Each command owns one entry below; option names are click's parameter names.
"""

from __future__ import annotations

from typing import Any

from warmer.config import Config


def default_map(config: Config) -> dict[str, Any]:
    """Per-command option defaults taken from the config file."""
    return {
        "sample": _sample_defaults(config),
        "report": {"formats": config.gate.reports},
        "observe": {"timeout_s": config.observe.timeout_s},
    }


def _sample_defaults(config: Config) -> dict[str, Any]:
    return {"inspect": {"warm_fraction": config.sample.warm_fraction}}
