"""State shared by every subcommand: global flags and the lazily loaded config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from warmer.config import Config, load_config


@dataclass
class AppContext:
    """Global options, and ``warmer.toml`` loaded on first use (commands that need none skip it)."""

    debug: bool = False
    config_path: Path | None = None
    _config: Config | None = field(default=None, repr=False)
    _loaded_from: Path | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config, self._loaded_from = load_config(self.config_path)
        return self._config

    @property
    def config_file(self) -> Path | None:
        """The file the config came from (None: defaults only)."""
        _ = self.config
        return self._loaded_from
