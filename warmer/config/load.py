"""Find and load ``warmer.toml`` (or ``[tool.warmer]`` in ``pyproject.toml``)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warmer.config._build import build
from warmer.config._env import substitute_tree
from warmer.config.schema import Config
from warmer.errors import ConfigError

CONFIG_NAME = "warmer.toml"


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``warmer.toml``, or a ``pyproject.toml`` with ``[tool.warmer]``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "warmer" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def load_config(
    path: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[Config, Path | None]:
    """Load the config file at ``path`` (or the discovered one); defaults when there is none."""
    path = path if path is not None else find_config_file()
    if path is None:
        return Config(), None
    tree = _read_toml(path)
    if path.name == "pyproject.toml":
        tree = tree.get("tool", {}).get("warmer", {})
    return config_from_tree(tree, env), path


def config_from_tree(tree: dict[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Build a :class:`Config` from a parsed TOML tree, substituting ``${ENV}`` first."""
    return build(Config, substitute_tree(tree, env))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", hint="check --config") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
