"""Find and load ``warmer.toml`` (or ``[tool.warmer]`` in ``pyproject.toml``)."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from warmer.config._build import build
from warmer.config._env import substitute_tree
from warmer.config.schema import Config
from warmer.errors import ConfigError

CONFIG_NAME = "warmer.toml"
SECTIONS = frozenset(field.name for field in dataclasses.fields(Config))
"""The top-level tables of ``warmer.toml``."""


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
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    sections: Collection[str] | None = None,
) -> tuple[Config, Path | None]:
    """Load the config file at ``path`` (or the discovered one); defaults when there is none.

    ``sections`` (names of :class:`Config` fields) are the ones the caller uses: only they
    must be valid. Another section that does not load (a typo in ``[gate] checks`` while
    running ``warmer observe``, an unset ``${VAR}`` only the gate needs) is left at its
    defaults instead of failing a command that never reads it. None checks every section.
    """
    path = path if path is not None else find_config_file()
    if path is None:
        return Config(), None
    tree = _read_toml(path)
    if path.name == "pyproject.toml":
        tree = tree.get("tool", {}).get("warmer", {})
    return config_from_tree(tree, env, sections=sections), path


def config_from_tree(
    tree: dict[str, Any],
    env: Mapping[str, str] | None = None,
    *,
    sections: Collection[str] | None = None,
) -> Config:
    """Build a :class:`Config` from a parsed TOML tree, substituting ``${ENV}`` first."""
    if sections is None or not isinstance(tree, dict):
        return build(Config, substitute_tree(tree, env))
    unknown = sorted(set(tree) - SECTIONS)
    if unknown:  # a misspelt section is an error whoever reads the file
        return build(Config, substitute_tree(tree, env))
    used = {name: value for name, value in tree.items() if name in sections}
    config = build(Config, substitute_tree(used, env))
    for name, value in tree.items():
        if name not in sections:
            try:
                config = build(Config, substitute_tree({**used, name: value}, env))
            except ConfigError:
                continue  # not this command's concern: that section keeps its defaults
            used[name] = value
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", hint="check --config") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: byte {exc.start} is not UTF-8",
            hint="TOML files are UTF-8; re-save it as UTF-8",
        ) from exc
