"""``${ENV}`` substitution in configuration values, so secrets stay out of warmer.toml."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from warmer.errors import ConfigError

# ${NAME} or ${NAME:-default}; "$${" escapes a literal "${".
_PATTERN = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def substitute(value: str, env: Mapping[str, str], path: str) -> str:
    """Replace every ``${NAME}`` in ``value`` from ``env``; an unset name without default fails."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"environment variable {name} is not set",
            hint=f"export {name}=... or write ${{{name}:-default}}",
            path=path,
        )

    return _PATTERN.sub(replace, value)


def substitute_tree(tree: Any, env: Mapping[str, str] | None = None, path: str = "") -> Any:
    """Apply :func:`substitute` to every string inside a parsed TOML tree."""
    env = os.environ if env is None else env
    if isinstance(tree, str):
        return substitute(tree, env, path)
    if isinstance(tree, dict):
        return {k: substitute_tree(v, env, f"{path}.{k}" if path else k) for k, v in tree.items()}
    if isinstance(tree, list):
        return [substitute_tree(v, env, f"{path}[{i}]") for i, v in enumerate(tree)]
    return tree
