"""Configuration: ``warmer.toml`` as frozen dataclasses, with ``${ENV}`` substitution."""

from warmer.config.load import config_from_tree, find_config_file, load_config
from warmer.config.schema import (
    Config,
    GateConfig,
    KeyConfig,
    ObserveConfig,
    ReplayConfig,
    SafetyConfig,
    SampleConfig,
    SourceConfig,
)

__all__ = [
    "Config",
    "GateConfig",
    "KeyConfig",
    "ObserveConfig",
    "ReplayConfig",
    "SafetyConfig",
    "SampleConfig",
    "SourceConfig",
    "config_from_tree",
    "find_config_file",
    "load_config",
]
