"""docs/configuration.md is the config model rendered: current, complete, and loadable."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from warmer.config import Config, config_from_tree
from warmer.config.reference import attribute_docs, render_reference, tables

DOC = Path(__file__).parents[2] / "docs" / "configuration.md"
_ROW = re.compile(r"^\| `(\w+)` \| [^|]*(?:\\\|[^|]*)* \| (.*?) \| ")


def test_committed_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render_reference(), (
        "docs/configuration.md is stale: run `make docs` and commit it"
    )


def test_every_setting_has_a_docstring() -> None:
    docs = attribute_docs()
    missing = [
        f"{cls.__name__}.{field.name}"
        for _, cls in tables()
        for field in dataclasses.fields(cls)
        if not docs.get((cls.__name__, field.name))
    ]
    assert not missing, f"document these in warmer/config/schema.py: {missing}"


def sections(text: str) -> dict[str, dict[str, str]]:
    """``{table: {setting: default column}}`` from the rendered reference."""
    found: dict[str, dict[str, str]] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("## "):
            table = re.findall(r"`\[([^\]]+)\]`", line)[0]
            found[table] = {}
        elif (row := _ROW.match(line)) is not None:
            found[table][row.group(1)] = row.group(2)
    return found


def test_defaults_as_written_load_to_the_models_defaults() -> None:
    lines = []
    for table, rows in sections(render_reference()).items():
        if "NAME" in table or table in ("stale_reads", "invalidation"):
            continue  # tiers have no defaults of their own; a probe's table turns it on
        lines.append(f"[{table}]")
        lines += [f"{name} = {value.strip('`')}" for name, value in rows.items() if "`" in value]
    tree = tomllib.loads("\n".join(lines))
    assert config_from_tree(tree) == Config()
    assert tree["gate"]["reports"] == ["json", "md", "html", "junit"]
    assert tree["replay"]["pacing"] == "max" and tree["sample"]["key"]["include_method"] is True


def test_every_table_and_setting_is_in_the_reference() -> None:
    rendered = sections(render_reference())
    for heading, cls in tables():
        table = re.findall(r"`\[([^\]]+)\]`", heading)[0]
        assert list(rendered[table]) == [field.name for field in dataclasses.fields(cls)]
    assert set(rendered) == {
        "sample", "sample.key", "replay", "safety", "tiers.NAME", "observe", "gate", "drift",
        "stale_reads", "invalidation", "compare",
    }  # fmt: skip
