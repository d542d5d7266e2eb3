"""Config loading: ${ENV} substitution, field paths in errors, pyproject discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from warmer.config import Config, config_from_tree, find_config_file, load_config
from warmer.errors import ConfigError, ExitCode


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config, path = load_config()
    assert path is None
    assert config == Config()
    assert "authorization" in config.sample.scrub_headers


def test_env_substitution_and_default() -> None:
    tree = {
        "tiers": {"l1": {"source": "redis", "url": "redis://:${PW}@h:6379/${DB:-0}"}},
    }
    config = config_from_tree(tree, env={"PW": "s3cret"})
    assert config.tiers["l1"].url == "redis://:s3cret@h:6379/0"


def test_missing_env_names_variable_and_path() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_tree({"replay": {"target": "${TARGET}"}}, env={})
    assert "replay.target" in str(info.value)
    assert "TARGET" in str(info.value)


@pytest.mark.parametrize(
    ("tree", "path"),
    [
        ({"replay": {"concurrency": "many"}}, "replay.concurrency"),
        ({"replay": {"pacing": "warp"}}, "replay.pacing"),
        ({"tiers": {"l0": {"source": "redis", "colour": 1}}}, "tiers.l0.colour"),
        ({"tiers": {"l0": {"url": "x"}}}, "tiers.l0.source"),
        ({"sample": {"key": {"ignore_params": "utm_*"}}}, "sample.key.ignore_params"),
        ({"nonsense": {}}, "nonsense"),
    ],
)
def test_validation_error_names_field_path(tree: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_tree(tree, env={})
    assert info.value.path == path
    assert info.value.exit_code == ExitCode.USAGE


def test_pyproject_tool_warmer_is_found(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.warmer.replay]\ntarget = "http://x"\n')
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    found = find_config_file(nested)
    assert found == tmp_path / "pyproject.toml"
    config, _ = load_config(found)
    assert config.replay.target == "http://x"


def test_warmer_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.warmer.replay]\ntarget = "http://x"\n')
    (tmp_path / "warmer.toml").write_text('[replay]\ntarget = "http://y"\n')
    assert find_config_file(tmp_path) == tmp_path / "warmer.toml"


def test_invalid_toml_is_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "warmer.toml"
    bad.write_text("[replay\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
