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
    sections: frozenset[str] | None = None
    """The config sections the invoked command reads (None: all must be valid)."""
    _config: Config | None = field(default=None, repr=False)
    _loaded_from: Path | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config, self._loaded_from = load_config(self.config_path, sections=self.sections)
        return self._config

    @property
    def config_file(self) -> Path | None:
        """The file the config came from (None: defaults only)."""
        _ = self.config
        return self._loaded_from
