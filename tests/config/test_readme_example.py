"""The README's example `warmer.toml` must stay a valid configuration."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from warmer.config.load import config_from_tree

README = Path(__file__).resolve().parents[2] / "README.md"


def _toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_shows_a_toml_example() -> None:
    assert _toml_blocks(), "README.md lost its warmer.toml example"


def test_readme_toml_example_loads_and_means_what_it_says() -> None:
    tree = tomllib.loads(_toml_blocks()[0])
    env = {"CANDIDATE_URL": "http://127.0.0.1:8080", "REDIS_PASSWORD": "s3cret"}
    config = config_from_tree(tree, env=env)
    assert config.replay.target == "http://127.0.0.1:8080"
    assert config.replay.pacing == "rate"
    assert config.tiers["l0"].source == "cache-status"
    assert config.tiers["l2"].url is not None and "s3cret" in config.tiers["l2"].url
    assert config.backend is not None and config.backend.source == "prometheus"
    assert len(config.gate.checks) == 4
