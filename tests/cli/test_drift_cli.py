"""`warmer drift` through the CLI: every exit code, the table, --json, config tiers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_runner import run_warmer
from tests.observe.tiers_fixtures import fill_redis
from warmer.demo.services import RedisServer

pytestmark = pytest.mark.slow


def test_drifted_pair_exits_1_with_a_side_by_side_table(
    redis_factory: Callable[..., RedisServer],
) -> None:
    prod = redis_factory(maxmemory="100mb")
    cand = redis_factory(maxmemory="10mb", extra_args=["--maxmemory-policy", "noeviction"])
    fill_redis(prod, keys=200)
    fill_redis(cand, keys=200)
    result = run_warmer("drift", "--baseline", prod.url, "--candidate", cand.url)
    assert result.returncode == 1, result.stderr
    lines = {line.split("│")[2].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "allkeys-lru" in lines["config.maxmemory_policy"]
    assert "noeviction" in lines["config.maxmemory_policy"]
    assert "DRIFT" in lines["config.maxmemory_policy"] and "DRIFT" in lines["config.maxmemory"]
    assert "2 difference(s) beyond the [drift] tolerances" in result.stderr


def test_identical_pair_exits_0_and_json_on_stdout(
    redis_factory: Callable[..., RedisServer],
) -> None:
    prod = redis_factory(maxmemory="100mb")
    cand = redis_factory(maxmemory="100mb")
    fill_redis(prod, keys=200, seed=1)
    fill_redis(cand, keys=200, seed=2)
    result = run_warmer("drift", "--baseline", prod.url, "--candidate", cand.url, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["failures"] == 0 and document["tiers"] == {"cache": 0}
    aspects = {row["aspect"]: row for row in document["rows"]}
    assert aspects["config.maxmemory_policy"]["status"] == "ok"
    assert aspects["prefix user"]["baseline"] == "50.0%"


def test_config_tiers_with_baseline_url_and_tolerances(
    tmp_path: Path, redis_factory: Callable[..., RedisServer]
) -> None:
    prod = redis_factory(maxmemory="100mb")
    cand = redis_factory(maxmemory="70mb")
    fill_redis(prod, keys=100)
    fill_redis(cand, keys=100)
    (tmp_path / "warmer.toml").write_text(
        f'[tiers.l2]\nsource = "redis"\nurl = "{cand.url}"\nbaseline_url = "{prod.url}"\n'
        "[drift]\nmaxmemory_ratio = 0.4\n"
    )
    assert run_warmer("drift", cwd=tmp_path).returncode == 0
    strict = run_warmer("drift", "--tier", "l2", "--json", cwd=tmp_path, env={})
    assert json.loads(strict.stdout)["tiers"] == {"l2": 0}
    (tmp_path / "warmer.toml").write_text(
        f'[tiers.l2]\nsource = "redis"\nurl = "{cand.url}"\nbaseline_url = "{prod.url}"\n'
    )
    assert run_warmer("drift", cwd=tmp_path).returncode == 1  # 0.7 is beyond ±0.2


def test_bad_input_exits_2(tmp_path: Path) -> None:
    alone = run_warmer("drift", "--baseline", "redis://127.0.0.1:1/0", cwd=tmp_path)
    assert alone.returncode == 2 and "--baseline and --candidate go together" in alone.stderr
    nothing = run_warmer("drift", cwd=tmp_path)
    assert nothing.returncode == 2 and "nothing to compare" in nothing.stderr
    malformed = run_warmer(
        "drift", "--baseline", "memcached://nohost", "--candidate", "memcached://x", cwd=tmp_path
    )
    assert malformed.returncode == 2 and "--baseline: 'memcached://nohost'" in malformed.stderr
    assert "port" in malformed.stderr
    schemeless = run_warmer(
        "drift", "--baseline", "127.0.0.1:1", "--candidate", "127.0.0.1:2", cwd=tmp_path
    )
    assert schemeless.returncode == 2 and "Traceback" not in schemeless.stderr
    assert "is not a redis://, rediss://, unix:// or memcached:// URL" in schemeless.stderr
    (tmp_path / "warmer.toml").write_text("[drift]\nmaxmemory_ratio = -1\n")
    bad = run_warmer("drift", cwd=tmp_path)
    assert bad.returncode == 2 and "drift" in bad.stderr


def test_unreachable_side_exits_3_named(
    tmp_path: Path, redis_factory: Callable[..., RedisServer]
) -> None:
    prod = redis_factory()
    result = run_warmer(
        "drift", "--baseline", prod.url, "--candidate", "redis://:pw@127.0.0.1:1/0", cwd=tmp_path
    )
    assert result.returncode == 3
    assert "127.0.0.1:1" in result.stderr and "check --candidate" in result.stderr
    assert "pw@" not in result.stderr


def test_gate_drift_flag_sets_gate_drift() -> None:
    from warmer.cli.gate import effective_config
    from warmer.config import config_from_tree

    config = config_from_tree({})
    assert effective_config(config, {"drift": True}).gate.drift is True
    assert effective_config(config, {"drift": None}).gate.drift is False
    on = config_from_tree({"gate": {"drift": True}})
    assert effective_config(on, {"drift": False}).gate.drift is False
