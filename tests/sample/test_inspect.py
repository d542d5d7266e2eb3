"""Sample profile: figures on hand-made tables, against the generator's truth, and the CLI."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from tests.cli_runner import run_warmer
from warmer.cli.sample_inspect import inspect_command
from warmer.errors import InputError
from warmer.model.sample import SAMPLE_ARROW_SCHEMA, SampleMeta
from warmer.sample.inspect import SampleProfile, fit_zipf, profile_sample
from warmer.sample.store import SampleWriter

ROOT = Path(__file__).resolve().parents[2]


def _table(rows: list[tuple[float, str, str]], **extra: list[object]) -> pa.Table:
    data: dict[str, list[object]] = {
        "ts": [r[0] for r in rows],
        "method": [r[1] for r in rows],
        "key": [r[2] for r in rows],
        **extra,
    }
    return pa.table(data)


# ts, method, key — warm part is ts < 8 (span 0..10, fraction 0.8)
SMALL = [
    (0.0, "GET", "A"),
    (0.5, "GET", "A"),
    (0.9, "GET", "B"),
    (2.0, "HEAD", "A"),
    (3.0, "POST", "P"),
    (8.0, "GET", "A"),
    (9.0, "GET", "C"),
    (10.0, "POST", "P"),
]


def test_small_sample_figures() -> None:
    p = profile_sample(_table(SMALL), top=2)
    assert p.requests == 8
    assert (p.start_ts, p.end_ts, p.span_s) == (0.0, 10.0, 10.0)
    assert p.mean_rate == pytest.approx(0.8)
    assert p.peak_rate == 3  # three requests in second 0
    assert p.methods == {"GET": 5, "POST": 2, "HEAD": 1}
    assert p.unique_keys == 4
    assert [(k.key, k.requests, k.share) for k in p.top_keys] == [("A", 4, 0.5), ("P", 2, 0.25)]
    assert p.one_hit_key_share == pytest.approx(2 / 4)  # B and C
    assert p.one_hit_request_share == pytest.approx(2 / 8)
    # Cacheable = GET/HEAD: 6 requests over keys A, B, C.
    assert p.cacheable_requests == 6
    assert p.infinite_cache_ceiling == pytest.approx(1 - 3 / 6)
    assert p.split is not None
    assert (p.split.warm_requests, p.split.verify_requests) == (5, 3)
    assert p.split.cutoff_ts == pytest.approx(8.0)
    # Verify cacheable: A (seen while warming) and C (not): ceiling 1/2.
    assert p.split.verify_cacheable == 2
    assert p.split.warmable_ceiling == pytest.approx(0.5)
    assert p.statuses is None and p.cache_statuses is None and p.object_sizes is None
    assert p.zipf is None


def test_warm_fraction_moves_the_cut() -> None:
    p = profile_sample(_table(SMALL), warm_fraction=0.5)
    assert p.split is not None
    assert (p.split.warm_requests, p.split.verify_requests) == (5, 3)
    p = profile_sample(_table(SMALL), warm_fraction=0.06)
    assert p.split is not None
    assert (p.split.warm_requests, p.split.verify_requests) == (2, 6)


def test_bypass_is_not_cacheable_and_statuses_are_counted() -> None:
    table = _table(
        SMALL,
        status=[200, 200, 404, 200, 201, 200, None, 201],
        cache_status=["MISS", "HIT", "MISS", "HIT", None, "bypass", "MISS", None],
        response_bytes=[100, 300, 50, 0, 10, 200, 70, 10],
    )
    p = profile_sample(table)
    assert p.statuses == {"200": 4, "201": 2, "404": 1}
    assert p.cache_statuses == {"HIT": 2, "MISS": 3, "bypass": 1}
    assert p.cacheable_requests == 5  # the GET at t=8 was bypassed
    assert p.infinite_cache_ceiling == pytest.approx(1 - 3 / 5)
    assert p.split is not None and p.split.warmable_ceiling == 0.0  # only C is left
    sizes = p.object_sizes
    assert sizes is not None
    # 2xx only, largest per key: A → 300, P → 10 (B was a 404, C has no status).
    assert (sizes.objects, sizes.max, sizes.working_set_bytes) == (2, 300, 310)
    assert sizes.p50 == pytest.approx(155.0)


def test_no_time_span_has_no_split() -> None:
    p = profile_sample(_table([(5.0, "GET", "A"), (5.0, "GET", "A")]))
    assert p.split is None
    assert p.mean_rate == 0.0
    assert p.peak_rate == 2
    assert p.infinite_cache_ceiling == pytest.approx(0.5)


def test_empty_sample_is_input_error() -> None:
    with pytest.raises(InputError, match="no requests"):
        profile_sample(_table([]))


def test_pandas_input_matches_arrow() -> None:
    table = _table(SMALL)
    assert profile_sample(table.to_pandas()) == profile_sample(table)


def test_to_dict_is_json() -> None:
    p = profile_sample(_table(SMALL))
    data = json.loads(json.dumps(p.to_dict()))
    assert data["split"]["warmable_ceiling"] == 0.5
    assert data["top_keys"][0] == {"key": "A", "requests": 4, "share": 0.5}


@pytest.mark.parametrize("s", [0.7, 1.0, 1.3])
def test_fit_zipf_recovers_exact_power_law(s: float) -> None:
    counts = np.floor(1e6 * np.arange(1, 2001, dtype=float) ** -s).astype(np.int64)
    fit = fit_zipf(counts)
    assert fit is not None
    assert fit.exponent == pytest.approx(s, abs=0.01)
    assert fit.rank_from == 1
    assert fit.rank_to == 1000
    assert fit.r_squared > 0.999


def test_fit_zipf_uses_only_keys_seen_often_enough() -> None:
    fit = fit_zipf(np.array([50, 20, 9, 5, 4, 1, 1, 1]))
    assert fit is not None and fit.rank_to == 4
    assert fit_zipf(np.array([9, 5, 1, 1])) is None


# ---------------------------------------------------------------- against the generator


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_samples", ROOT / "scripts" / "generate_samples.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_samples"] = module
    spec.loader.exec_module(module)
    return module


def _generated(generator: ModuleType, **options: object) -> SampleProfile:
    profile = generator.Profile(requests=30_000, mix={"product": 1.0}, **options)
    rows = generator.canonical_rows(generator.generate(profile))
    return profile_sample(pa.Table.from_pylist(rows, schema=SAMPLE_ARROW_SCHEMA))


def test_zipf_exponent_matches_the_generator(generator: ModuleType) -> None:
    for s in (0.8, 1.05):
        fit = _generated(generator, zipf_s=s, shift_at=None).zipf
        assert fit is not None
        assert fit.exponent == pytest.approx(s, abs=0.1)


def test_hot_set_shift_lowers_the_warmable_ceiling(generator: ModuleType) -> None:
    steady = _generated(generator, shift_at=None).split
    shifted = _generated(generator, shift_at=0.6).split
    assert steady is not None and shifted is not None
    assert steady.warmable_ceiling is not None and shifted.warmable_ceiling is not None
    assert shifted.warmable_ceiling < steady.warmable_ceiling - 0.02


def test_demo_sample_profile() -> None:
    from warmer.sample.store import open_sample

    p = profile_sample(open_sample(ROOT / "traffic_samples" / "demo.jsonl.gz").to_table())
    assert p.requests == 55_000
    assert 1700 < p.span_s <= 1800
    assert p.cache_statuses is not None and set(p.cache_statuses) == {
        "HIT",
        "MISS",
        "EXPIRED",
        "BYPASS",
    }
    # Keys normalise the utm_* noise and parameter order away.
    assert not any("utm_" in k.key for k in p.top_keys)
    assert p.infinite_cache_ceiling is not None and 0.5 < p.infinite_cache_ceiling < 0.95


# ---------------------------------------------------------------- CLI


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    path = tmp_path / "s.parquet"
    rows = [{"ts": t, "method": m, "target": "/" + k, "key": k} for t, m, k in SMALL]
    with SampleWriter(path) as writer:
        writer.write_batch(pa.Table.from_pylist(rows, schema=SAMPLE_ARROW_SCHEMA))
        writer.close(SampleMeta())
    return path


def test_cli_text(sample_file: Path) -> None:
    result = CliRunner().invoke(inspect_command, [str(sample_file), "--top", "1"])
    assert result.exit_code == 0, result.output
    assert "requests   8" in result.output
    assert "warmable ceiling        50.0 %" in result.output
    top = result.output.split("Top 1 keys\n", 1)[1].splitlines()
    assert top == ["  50.00%         4  A"]


def test_cli_json(sample_file: Path) -> None:
    result = CliRunner().invoke(
        inspect_command, [str(sample_file), "--json", "--warm-fraction", "0.06"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["split"]["warm_requests"] == 2
    assert data["unique_keys"] == 4


def test_cli_bad_warm_fraction_is_usage_error(sample_file: Path) -> None:
    result = CliRunner().invoke(inspect_command, [str(sample_file), "--warm-fraction", "1"])
    assert result.exit_code == 2


_warmer = run_warmer


@pytest.mark.skipif(
    importlib.util.find_spec("warmer.cli.sample_import") is None,
    reason="the sample group needs warmer.cli.sample_import (another engineer's module)",
)
def test_missing_sample_through_the_cli_is_exit_2(tmp_path: Path) -> None:
    result = _warmer("sample", "inspect", "nope.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Tip:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("warmer.cli.sample_import") is None,
    reason="the sample group needs warmer.cli.sample_import (another engineer's module)",
)
def test_config_warm_fraction_is_the_default(tmp_path: Path, sample_file: Path) -> None:
    (tmp_path / "warmer.toml").write_text("[sample]\nwarm_fraction = 0.05\n")
    result = _warmer("sample", "inspect", str(sample_file), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["split"]["warm_fraction"] == 0.05
    result = _warmer(
        "sample", "inspect", str(sample_file), "--json", "--warm-fraction", "0.5", cwd=tmp_path
    )
    assert json.loads(result.stdout)["split"]["warm_fraction"] == 0.5


# ---------------------------------------------------------------- --mrc, --simulate


def test_cli_mrc_and_simulation_text_on_the_bundled_sample() -> None:
    result = run_warmer(
        "sample", "inspect", str(ROOT / "traffic_samples" / "demo.jsonl.gz"), "--mrc",
        "--simulate", "l0=2000 objects ttl=1h", "--simulate", "l2=unbounded",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Miss-ratio curve (LRU; exact stack distances; 48,082 cacheable requests)" in out
    # 78.4 % is the most any cache reaches on this sample (first requests are misses).
    assert "80 %      unreachable (ceiling 78.4 %)" in out
    assert "                 2,000    68.7 %" in out  # the table
    assert "hit rate by cache size" in out and "█" in out  # the chart
    simulation = out.split("Tier simulation", 1)[1]
    assert "l0         2,000 objects, ttl 3600 s, lru" in simulation
    assert "68.7 %" in simulation  # one LRU tier reads the same as the curve at its size
    assert "  effective                                  78.4 %" in simulation


def test_cli_mrc_json_has_curves_and_target_sizes(sample_file: Path) -> None:
    result = CliRunner().invoke(
        inspect_command,
        [str(sample_file), "--json", "--mrc", "--mrc-method", "shards", "--simulate", "l0=1"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # Cacheable: A A B A A C (GET/HEAD); first sightings miss; one slot keeps A on A A.
    assert data["mrc"]["method"] == "shards" and data["mrc"]["requests"] == 6
    assert data["mrc"]["targets"]["objects"]["0.8"] is None  # 3 of 6 at best
    assert data["mrc"]["curves"]["objects"][0] == [1.0, pytest.approx(4 / 6)]
    whole = data["simulation"]["whole"]
    assert whole["tiers"][0]["hits"] == 2 and whole["requests"] == 6


def test_cli_bad_simulate_text_is_a_one_line_usage_error(sample_file: Path) -> None:
    result = run_warmer("sample", "inspect", str(sample_file), "--simulate", "l0=2XB")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "tier 'l0=2XB': unknown capacity unit 'xb'" in result.stderr
