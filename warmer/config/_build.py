"""Build frozen config dataclasses from plain TOML trees, naming the path of any bad field."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar, get_args, get_origin

from warmer.errors import ConfigError

T = TypeVar("T")


def build(cls: type[T], tree: Any, path: str = "") -> T:
    """Turn ``tree`` (a dict from TOML) into an instance of dataclass ``cls``.

    Unknown keys, wrong types and missing required fields raise :class:`ConfigError`
    whose ``path`` is the dotted location of the field, e.g. ``tiers.l1.url``.
    """
    if not isinstance(tree, dict):
        raise ConfigError(f"expected a table, got {_kind(tree)}", path=path or None)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(tree) - set(fields))
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(f"unknown setting (known: {', '.join(sorted(fields))})", path=where)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        where = f"{path}.{name}" if path else name
        if name in tree:
            values[name] = _convert(hints[name], tree[name], where)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError("required setting is missing", path=where)
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        # "url: ..." from a __post_init__ is about one field: the path names it.
        name, sep, rest = str(exc).partition(": ")
        if sep and name in fields:
            raise ConfigError(rest, path=f"{path}.{name}" if path else name) from exc
        raise ConfigError(str(exc), path=path or None) from exc


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is typing.Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{value!r} is not one of {', '.join(map(repr, allowed))}", path=path)
        return value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"expected a list, got {_kind(value)}", path=path)
        (item,) = get_args(tp)[:1]
        return tuple(_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"expected a table, got {_kind(value)}", path=path)
        args = get_args(tp)
        item_tp = args[1] if args else Any
        return {str(k): _convert(item_tp, v, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path)  # type: ignore[arg-type]
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (str, int, float, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ConfigError(f"expected {tp.__name__}, got {_kind(value)}", path=path)
        return value
    raise ConfigError(f"unsupported setting type {tp!r}", path=path)


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
