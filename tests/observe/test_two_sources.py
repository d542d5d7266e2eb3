"""One cache seen by two sources, and a tier that restarts mid-phase, on a real redis-server."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import redis

from tests.observe.test_sampler_session import results_table
from warmer.checks.grammar import parse_check
from warmer.config import config_from_tree
from warmer.demo.services import RedisServer
from warmer.gate.diagnose import Evidence, diagnose
from warmer.gate.evaluate import evaluate
from warmer.observe.session import ObserveSession

HEADERS = ["l1; hit"] * 8 + ["l1; fwd=uri-miss"] * 2


def _lookups(server: RedisServer) -> None:
    """What the header rows say the cache did: 8 hits, 2 misses."""
    client = redis.Redis.from_url(server.url)
    client.set("hot", "1")
    for _ in range(8):
        client.get("hot")
    client.get("cold-1")
    client.get("cold-2")
    client.close()


def _run(
    tree: dict[str, object], server: RedisServer, times: int = 1
) -> tuple[ObserveSession, pa.Table]:
    session = ObserveSession(config_from_tree(tree, {}))
    session.preflight()
    session.boundary("verify_start")
    for _ in range(times):
        _lookups(server)
    session.boundary("verify_end")
    session.stop()
    return session, results_table(HEADERS, "verify")


def test_a_cross_check_is_reported_beside_the_tier_and_counted_once(
    redis_tcp: RedisServer,
) -> None:
    l1 = {"source": "cache-status", "cache": "l1",
          "cross_check": {"source": "redis", "url": redis_tcp.url}}  # fmt: skip
    session, rows = _run({"tiers": {"l1": l1}}, redis_tcp)
    figures = session.figures(rows)
    seen = figures.phases["verify"]
    (tier,) = seen.tiers  # the cross-check is no tier of its own
    assert tier.hit_rate == 0.8 and tier.cross_check_hit_rate == 0.8
    assert seen.effective_hit_rate == 0.8  # counted once: 1 - 0.2, not 1 - 0.2 * 0.2
    assert figures.warnings == ()


def test_two_tiers_that_are_one_cache_get_a_warning(redis_tcp: RedisServer) -> None:
    tiers = {"l1": {"source": "cache-status", "cache": "l1"},
             "l1r": {"source": "redis", "url": redis_tcp.url}}  # fmt: skip
    session, rows = _run({"tiers": tiers}, redis_tcp, times=10)
    figures = session.figures(pa.concat_tables([rows] * 10))  # 100 lookups, as Redis counted
    assert figures.phases["verify"].effective_hit_rate is not None
    assert any("look like the same cache" in w for w in figures.warnings), figures.warnings


def test_a_cross_check_that_disagrees_is_a_warning(redis_tcp: RedisServer) -> None:
    l1 = {"source": "cache-status", "cache": "l1",
          "cross_check": {"source": "redis", "url": redis_tcp.url}}  # fmt: skip
    session, _ = _run({"tiers": {"l1": l1}}, redis_tcp)
    figures = session.figures(results_table(["l1; fwd=uri-miss"] * 10, "verify"))
    assert any("cross_check counted 80.0%" in w for w in figures.warnings), figures.warnings


def test_a_redis_tier_that_restarts_mid_phase_gets_the_restart_diagnosis(
    redis_factory: Callable[..., RedisServer],
) -> None:
    server = redis_factory()
    tree = {"tiers": {"l1": {"source": "redis", "url": server.url}}}
    session = ObserveSession(config_from_tree(tree, {}))
    session.preflight()
    session.boundary("verify_start")
    _lookups(server)
    session.sampler.snapshot_all()
    server.kill()
    server.start()  # same port, a new process: a new run_id and counters from zero
    _lookups(server)
    session.boundary("verify_end")
    session.stop()
    (l1,) = session.figures(results_table(HEADERS, "verify")).phases["verify"].tiers
    assert l1.restarted is not None and "run_id" in l1.restarted
    metrics = {"hit_rate.l1": l1.hit_rate}
    evidence = Evidence(metrics, tiers=("l1",),
                        findings={"verify": {"restarts": {"l1": l1.restarted}}})  # fmt: skip
    [outcome] = diagnose(evaluate([parse_check("hit_rate.l1 >= 0.99", ("l1",))], metrics), evidence)
    assert outcome.diagnosis_id == "restart" and "L1 restarted during verify" in (
        outcome.diagnosis or ""
    )
