"""``warmer gate --baseline``: the candidate against a running release on the same traffic.

Real reference candidates (one Redis for both L2 tiers, separate key prefixes), the demo
sample's first recorded minutes. The baseline is warmed beforehand with the whole slice,
as a running release is warm with production traffic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from warmer.config import config_from_tree
from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.services import RedisServer
from warmer.gate import GateOptions, build_observation, prepare, run_gate
from warmer.gate.compare import compare_tables, read_side, replay_both
from warmer.gate.live import tier_rules
from warmer.gate.plan import split_sample
from warmer.model.sample import SampleMeta
from warmer.replay.results import ResultsWriter
from warmer.replay.run import ReplayPlan, replay
from warmer.sample.source import SampleSource
from warmer.sample.store import SampleWriter, open_sample

pytestmark = pytest.mark.slow

DEMO_SAMPLE = Path(__file__).parents[2] / "traffic_samples" / "demo.jsonl.gz"
TIERS = {
    "l0": {"source": "cache-status", "cache": "l0"},
    "l2": {"source": "cache-status", "cache": "l2"},
}
CHECKS = (
    "compare.hit_rate.l0.delta_high >= -2%",
    "compare.hit_rate.effective.delta_high >= -2%",
    "compare.error_rate.delta_low <= 1%",
    "compare.regressions == 0",
)
"""What a gate would check: no tier measurably (by the interval) worse by more than two
points, errors not measurably up, and nothing the comparison calls worse."""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first four recorded minutes of the demo sample (about 2 500 requests)."""
    path = tmp_path_factory.mktemp("compare") / "s.parquet"
    table = open_sample(DEMO_SAMPLE).to_table()
    table = table.filter(table.column("ts").to_numpy() < table.column("ts")[0].as_py() + 240)
    with SampleWriter(path) as writer:
        writer.write_batch(table)
        writer.close(SampleMeta(requests=table.num_rows))
    return path


def serve(redis: RedisServer, prefix: str, l0: int) -> CandidateServer:
    settings = CandidateSettings(
        l0_capacity=l0, l2_url=redis.url, key_prefix=prefix, backend_latency_ms=2,
        backend_jitter_ms=1,
    )  # fmt: skip
    return CandidateServer(settings)


def warm(url: str, sample: Path, tmp_path: Path) -> None:
    """The whole slice once: a warm running release."""
    with ResultsWriter(tmp_path / f"warm-{abs(hash(url))}.parquet") as writer:
        replay(SampleSource.open(sample), ReplayPlan(target=url, concurrency=16), writer)


def gate(tmp_path: Path, sample: Path, target: str, baseline: str, **compare: Any) -> Any:
    config = config_from_tree(
        {
            "replay": {"concurrency": 16},
            "tiers": TIERS,
            "gate": {"settle_s": 0.1, "baseline": baseline},
            "compare": compare,
        }
    )
    options = GateOptions(
        config=config, sample=sample, target=target, checks=CHECKS, run_dir=tmp_path / "run"
    )
    return run_gate(prepare(options, profile=False), build_observation(config))


def test_a_candidate_with_half_the_l0_is_flagged(
    tmp_path: Path, sample: Path, redis_tcp: RedisServer
) -> None:
    with serve(redis_tcp, "base:", 400) as base, serve(redis_tcp, "cand:", 200) as cand:
        warm(base.url, sample, tmp_path)
        result = gate(tmp_path, sample, cand.url, base.url)
    comparison = result.report.comparison
    assert comparison is not None and comparison.reason is None, comparison
    l0 = next(row for row in comparison.rows if row.metric == "hit_rate.l0")
    assert l0.verdict == "worse" and l0.high is not None and l0.high < -0.02, l0
    outcomes = {o.check.text: o for o in result.outcomes}
    flagged = outcomes["compare.hit_rate.l0.delta_high >= -2%"]
    assert flagged.status == "fail" and flagged.diagnosis_id == "compare-worse"
    assert outcomes["compare.regressions == 0"].status == "fail"
    assert result.exit_code == 1
    steps = [s.name for s in result.report.steps]
    assert steps[steps.index("verify") + 1] == "compare"
    run = tmp_path / "run"
    assert (run / "compare-baseline.parquet").exists()
    assert "Candidate against the baseline" in (run / "report.md").read_text()
    assert "hit_rate.l0" in (run / "report.html").read_text()
    evidence = json.loads((run / "evidence.json").read_text())
    assert evidence["metrics"]["compare.hit_rate.l0.delta"] < -0.02


def test_too_little_traffic_is_inconclusive_not_a_pass(
    tmp_path: Path, sample: Path, redis_tcp: RedisServer
) -> None:
    with serve(redis_tcp, "b2:", 400) as base, serve(redis_tcp, "c2:", 400) as cand:
        result = gate(tmp_path, sample, cand.url, base.url, requests=50)
    comparison = result.report.comparison
    assert comparison is not None and comparison.reason is not None
    assert "inconclusive" in comparison.reason and "min_requests" in comparison.reason
    assert all(o.status == "no_data" for o in result.outcomes[:4])
    assert "inconclusive" in (result.outcomes[0].diagnosis or "")
    assert result.exit_code == 1


@pytest.fixture(scope="module")
def identical(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two identical deployments, both warm (module scope: the 20 runs share them)."""
    tmp = tmp_path_factory.mktemp("identical")
    with (
        RedisServer() as redis,
        serve(redis, "one:", 400) as one,
        serve(redis, "two:", 400) as two,
    ):
        for server in (one, two):
            warm(server.url, sample, tmp)
        yield one.url, two.url


def test_identical_deployments_are_not_flagged_in_20_comparisons(
    tmp_path: Path, sample: Path, identical: tuple[str, str]
) -> None:
    """The false-positive rate: the comparison of two identical deployments, 20 times.

    Each run sends 300 requests of the verify part to both in pairs and judges ``CHECKS``.
    The hit-rate checks fail only when the interval lies wholly below −2 points, which
    identical caches on identical traffic do not produce; latency counts as worse only
    with U's p < 0.05, a Cliff's delta of at least 0.147 *and* the candidate slower in
    every one of the six half-second windows (sign test), so half a second in which the
    shared machine starved one server — which U alone calls significant — is not enough.
    """
    from warmer.checks.grammar import parse_checks
    from warmer.gate.diagnose import Evidence
    from warmer.gate.judge import judge

    one, two = identical
    # 300 pairs at 100 a second: three seconds, six half-second windows, the fewest the
    # windows' sign test needs to judge latency at all (so latency is judged every run).
    compare = {"requests": 300, "rate": 100, "window_s": 0.5}
    config = config_from_tree({"tiers": TIERS, "compare": compare})
    source = SampleSource.open(sample)
    verify = split_sample(source, warm_fraction=0.8).verify
    rules = tier_rules(config.tiers)
    flagged = []
    figures = []
    for run in range(20):
        directory = tmp_path / f"run{run}"
        directory.mkdir()
        paths = replay_both(config, lambda: verify, two, one, directory, _never())
        sides = [read_side(path, rules) for path in paths]
        comparison, metrics = compare_tables(sides[0], sides[1], config.compare, one)
        outcomes = judge(parse_checks(CHECKS), metrics, Evidence(metrics=metrics))
        failed = [o.check.text for o in outcomes if o.status != "pass"]
        figures.append(
            (
                metrics["compare.hit_rate.l0.delta"],
                metrics["compare.latency.cliffs_delta"],
                metrics["compare.latency.mwu_p"],
            )
        )
        if failed:
            flagged.append((run, failed, [r for r in comparison.rows if r.verdict == "worse"]))
    assert comparison.requests == 300
    latency = comparison.rows[-1]
    assert not latency.verdict.startswith("no data"), latency  # latency was judged
    print("figures", figures)  # shown with -s: the spread of the 20 comparisons
    assert not flagged, (flagged, figures)


def _never() -> Any:
    import threading

    return threading.Event()


def test_a_protected_baseline_is_refused_before_anything_is_sent(
    tmp_path: Path, sample: Path
) -> None:
    from warmer.errors import UnsafeTargetError

    config = config_from_tree(
        {
            "gate": {"baseline": "http://prod.example.com:8080"},
            "safety": {"protected_hosts": ["*.example.com"]},
        }
    )
    options = GateOptions(config=config, sample=sample, target="http://127.0.0.1:9")
    with pytest.raises(UnsafeTargetError):
        prepare(options, profile=False)


def test_the_cli_takes_a_baseline() -> None:
    from warmer.cli.gate import effective_config
    from warmer.config.schema import Config

    config = effective_config(Config(), {"baseline": "http://release:8080"})
    assert config.gate.baseline == "http://release:8080"


def test_a_dead_baseline_ends_the_run_with_exit_3(
    tmp_path: Path, sample: Path, redis_tcp: RedisServer
) -> None:
    from warmer.demo.services import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    with serve(redis_tcp, "c3:", 400) as cand:
        result = gate(tmp_path, sample, cand.url, dead, requests=300)
    assert result.exit_code == 3
    assert result.report.error is not None and "the baseline at 127.0.0.1" in result.report.error
    assert [s.status for s in result.report.steps if s.name == "compare"] == ["error"]


def test_a_check_of_a_probe_that_does_not_run_is_a_usage_error(sample: Path) -> None:
    from warmer.errors import UsageError

    for check, hint in (
        ("compare.regressions == 0", "--baseline"),
        ("stale_reads.rate < 0.5%", "[stale_reads]"),
        ("invalidation.ok == 1", "[invalidation]"),
    ):
        options = GateOptions(
            config=config_from_tree({}), sample=sample, target="http://127.0.0.1:9", checks=(check,)
        )
        with pytest.raises(UsageError) as caught:
            prepare(options, profile=False)
        assert hint in (caught.value.hint or ""), caught.value
