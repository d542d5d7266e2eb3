"""The configuration reference (docs/configuration.md), rendered from the config model itself.

Tables, fields, types and defaults come from the dataclasses in ``warmer.config.schema``;
descriptions from their docstrings and attribute docstrings (read from the module's
source, since Python keeps no attribute docstrings at run time). Nothing is written by
hand, so the reference cannot drift from the code: ``scripts/gen_config_reference.py``
writes it and a test fails when the committed file differs.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import re
import types
import typing
from collections.abc import Iterator
from typing import Any, get_args, get_origin

from warmer.config import schema
from warmer.config.limits import LIMITS
from warmer.config.schema import Config, SourceConfig

HEADER = """# Configuration reference: `warmer.toml`

<!-- Generated from warmer/config/schema.py by `make docs`; edit the docstrings there.
     tests/docs/test_config_reference.py fails when this file is stale. -->

warmer reads the nearest `warmer.toml` (or `[tool.warmer]` in `pyproject.toml`) from the
working directory upwards; `--config FILE` or `WARMER_CONFIG` name another. Every setting
is optional unless marked required. Precedence: command-line flag > `WARMER_<COMMAND>_<OPTION>`
variable > this file > the default below. Any string may hold `${NAME}` (or
`${NAME:-default}`), replaced from the environment when the file loads, so secrets stay
out of the file; `$${` writes a literal `${`. A bad value is an error naming its path
(`tiers.l1.url: ...`, exit code 2) before anything is sent. A number must lie in the range
its type shows (`(0, 1)` excludes both ends, `[0, 1]` includes them; the command-line flag
of the same setting takes the same range); NaN and infinities never do. A tier's `url`
is checked for its scheme, host and port when the file loads.
"""


def render_reference() -> str:
    """docs/configuration.md: one section per table of :class:`Config`, in file order."""
    docs = attribute_docs()
    sections = [HEADER]
    for table, cls in tables():
        sections.append(_section(table, cls, docs))
    return "\n".join(sections)


def tables() -> Iterator[tuple[str, type[Any]]]:
    """``(heading, dataclass)`` for every table, nested ones after their parent."""
    yield from _tables(Config, "")


def _tables(cls: type[Any], prefix: str) -> Iterator[tuple[str, type[Any]]]:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        inner = _dataclass_in(hints[field.name])
        if inner is None:
            continue
        name = f"{prefix}{field.name}"
        if inner is SourceConfig:
            # [tiers.NAME] and [backend] are the same kind of table: one section for both.
            if field.name == "tiers":
                yield "`[tiers.NAME]` and `[backend]`", inner
            continue
        yield f"`[{name}]`", inner
        yield from _tables(inner, f"{name}.")


def _dataclass_in(tp: Any) -> type[Any] | None:
    """The dataclass a field holds (directly, optionally, or as a table's values)."""
    if dataclasses.is_dataclass(tp):
        return tp  # type: ignore[return-value]
    for arg in get_args(tp):
        found = _dataclass_in(arg)
        if found is not None:
            return found
    return None


def attribute_docs() -> dict[tuple[str, str], str]:
    """``(class name, field name) -> docstring`` for every documented field of the schema."""
    tree = ast.parse(inspect.getsource(schema))
    docs = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        body = node.body
        for statement, following in itertools.pairwise(body):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[(node.name, statement.target.id)] = inspect.cleandoc(following.value.value)
    return docs


def _section(table: str, cls: type[Any], docs: dict[tuple[str, str], str]) -> str:
    intro = _TABLE_REF.sub("", inspect.getdoc(cls) or "", count=1)
    parts = [f"## {table}", "", _markdown(intro), ""]
    if cls is SourceConfig:
        parts += [_source_needs(), ""]
    parts += ["| setting | type | default | meaning |", "|---|---|---|---|"]
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        meaning = _cell(_markdown(docs.get((cls.__name__, field.name), "")))
        kind, default = type_name(hints[field.name]), _default(field)
        bound = LIMITS.get(f"{table.strip('`[]')}.{field.name}")
        if bound is not None:
            kind = f"{kind} in {bound.interval()}"
        parts.append(f"| `{field.name}` | {kind} | {default} | {meaning} |")
    return "\n".join(parts) + "\n"


def _source_needs() -> str:
    rows = [
        f"`{source}` needs `{'`, `'.join(needs)}`" for source, needs in schema.SOURCE_NEEDS.items()
    ]
    return "Each `source` requires its own settings: " + "; ".join(rows) + "."


def type_name(tp: Any) -> str:
    """How a field's type reads in the reference (TOML's vocabulary, not Python's)."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        named = [type_name(arg) for arg in get_args(tp) if arg is not type(None)]
        return " or ".join(named)
    if origin is typing.Literal:
        return " \\| ".join(f'`"{value}"`' for value in get_args(tp))
    if origin in (tuple, list):
        return f"list of {type_name(get_args(tp)[0])}s"
    if origin is dict:
        inner = get_args(tp)[1]
        return "tables" if dataclasses.is_dataclass(inner) else f"table of {type_name(inner)}s"
    if dataclasses.is_dataclass(tp):
        return "table"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}[tp]


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        return "not set" if field.default is None else f"`{toml_value(field.default)}`"
    if field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
        return "(table)" if dataclasses.is_dataclass(value) else f"`{toml_value(value)}`"
    return "**required**"


def toml_value(value: Any) -> str:
    """``value`` written as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


_TABLE_REF = re.compile(r" \(``\[[^)]*\]``\)")
"""The table names a class docstring gives in parentheses: the heading says them."""
_LITERAL_BLOCK = re.compile(r"::\n\n((?:(?:    .*)?\n)+)")


def _markdown(text: str) -> str:
    """Docstring reStructuredText as Markdown: code spans, and ``::`` blocks as TOML fences."""

    def fence(match: re.Match[str]) -> str:
        return f":\n\n```toml\n{inspect.cleandoc(match.group(1))}\n```\n\n"

    return _LITERAL_BLOCK.sub(fence, text.replace("``", "`").strip() + "\n").strip()


def _cell(text: str) -> str:
    """``text`` on one line, safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
