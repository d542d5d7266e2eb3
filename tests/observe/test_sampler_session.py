"""Background sampling against real servers, a source dying mid-run, and a whole observed run."""

from __future__ import annotations

import time
from collections.abc import Callable

import pyarrow as pa
import pytest
import redis

from tests.observe.conftest import Endpoint
from warmer.config import config_from_tree
from warmer.demo.services import RedisServer
from warmer.model.results import RESULTS_ARROW_SCHEMA
from warmer.observe.redis import RedisObserver
from warmer.observe.sampler import Sampler
from warmer.observe.session import ObserveSession


def wait_samples(sampler: Sampler, count: int) -> None:
    """Wait (bounded) until the background thread has taken ``count`` more samples."""
    target = len(sampler.timeline) + count
    deadline = time.monotonic() + 30
    while len(sampler.timeline) < target:
        assert time.monotonic() < deadline, "the sampler stopped sampling"
        time.sleep(0.02)


def test_source_dying_mid_run_gives_missing_samples_and_sampling_goes_on(
    redis_factory: Callable[..., RedisServer],
) -> None:
    alive, dying = redis_factory(), redis_factory()
    sampler = Sampler(
        [
            RedisObserver("l1", alive.url, timeout_s=0.5),
            RedisObserver("l2", dying.url, timeout_s=0.5),
        ],
        interval_s=0.05,
    )
    with sampler:
        wait_samples(sampler, 2)
        dying.kill()
        wait_samples(sampler, 3)
        redis.Redis.from_url(alive.url).get("still-counted")
        wait_samples(sampler, 2)
    l1 = [snap for _, snap in sampler.series("l1")]
    l2 = [snap for _, snap in sampler.series("l2")]
    assert all(s is not None for s in l1)
    assert l2[0] is not None and l2[-1] is None  # missing, never zeros
    assert l1[-1] is not None and l1[-1].misses == 1
    json = sampler.timeline[-1].to_json()
    assert json["sources"]["l2"] is None  # type: ignore[index]


def test_sampler_without_observers_never_starts_a_thread() -> None:
    sampler = Sampler([], interval_s=0.01)
    sampler.start()
    assert sampler.snapshot_all("warm_start").snapshots == {}
    sampler.stop()


def results_table(cache_status: list[str | None], phase: str, first: int = 0) -> pa.Table:
    """Rows numbered from ``first`` (``seq``, and ``sent_s`` 10 ms apart), keys k0, k1 …"""
    n = len(cache_status)
    return pa.Table.from_pydict(
        {
            "seq": list(range(first, first + n)),
            "phase": [phase] * n,
            "method": ["GET"] * n,
            "target": ["/"] * n,
            "key": [f"k{i}" for i in range(n)],
            "sent_s": [(first + i) * 0.01 for i in range(n)],
            "status": [200] * n,
            "cache_status": cache_status,
        }
    ).cast(
        pa.schema(
            [
                RESULTS_ARROW_SCHEMA.field(c)
                for c in (
                    "seq",
                    "phase",
                    "method",
                    "target",
                    "key",
                    "sent_s",
                    "status",
                    "cache_status",
                )
            ]
        )
    )


def test_observed_run_combines_header_and_live_tiers(
    redis_tcp: RedisServer, endpoint: Endpoint
) -> None:
    tree = {
        "tiers": {
            "l0": {"source": "cache-status", "cache": "l0"},
            "l1": {"source": "redis", "url": redis_tcp.url},
        },
        "backend": {
            "source": "prometheus",
            "url": endpoint.url,
            "requests": "candidate_backend_requests_total",
        },
        "observe": {"interval_s": 0.05, "consistency_tolerance": 0.05},
    }
    session = ObserveSession(config_from_tree(tree, {}))
    session.preflight()
    client = redis.Redis.from_url(redis_tcp.url)
    with session.sampling():
        client.set("warm", "1")
        session.boundary("verify_start")
        # 10 requests: l0 hits 6; the 4 l0 misses go to l1, which hits 2; 2 reach the backend
        for key in ("warm", "warm", "cold-1", "cold-2"):
            client.get(key)
        endpoint.backend.inc(2)
        session.boundary("verify_end")
    rows = results_table(["l0; hit"] * 6 + ["l0; fwd=uri-miss"] * 4, "verify")
    figures = session.figures(rows)
    assert list(figures.phases) == ["verify"]
    seen = figures.phases["verify"]
    l0, l1 = seen.tiers
    assert (l0.hits, l0.misses, l0.hit_rate) == (6, 4, 0.6)
    assert (l1.hits, l1.misses, l1.hit_rate) == (2, 2, 0.5)
    assert seen.effective_hit_rate == pytest.approx(0.8)
    assert seen.backend.requests == 2 and seen.backend.offload == pytest.approx(0.8)
    assert seen.backend.consistent is True and seen.backend_gap == pytest.approx(0.0)
    assert l1.expirations == 0  # from INFO expired_keys
    assert figures.missing == {}
    # l0 per response, l1 per sampling interval; no effective curve: Cache-Status names no l1
    assert [c.tier for c in figures.curves] == ["l0", "l1"]
    assert figures.timelines[0]["label"] == "verify_start"


def test_optional_unreachable_source_is_reported_missing(redis_tcp: RedisServer) -> None:
    tree = {
        "tiers": {
            "l1": {"source": "redis", "url": redis_tcp.url},
            "l2": {"source": "redis", "url": "redis://127.0.0.1:1/0", "required": False},
        },
        "observe": {"timeout_s": 0.5},
    }
    session = ObserveSession(config_from_tree(tree, {}))
    session.preflight()  # does not raise: l2 is optional
    session.boundary("warm_start")
    session.boundary("warm_end")
    session.stop()
    seen = session.phase("warm", results_table(["x"], "warm"))
    assert seen.tiers[1].missing_data and seen.tiers[1].hits is None
    assert seen.effective_hit_rate is None
    assert "unreachable" in session.missing()["l2"]


def test_garbage_headers_are_counted_in_the_tier_note() -> None:
    tree = {"tiers": {"l0": {"source": "cache-status", "cache": "l0"}}}
    session = ObserveSession(config_from_tree(tree, {}))
    seen = session.phase("warm", results_table(["l0; hit", "l0; hit=maybe", "l0; hit, ,"], "warm"))
    (l0,) = seen.tiers
    assert (l0.hits, l0.misses) == (2, 0)
    assert "3 unparseable values skipped" in (l0.note or "")  # hit=maybe, two empty members


def test_cache_status_losses_carry_what_warm_stored_into_verify() -> None:
    tree = {"tiers": {"l0": {"source": "cache-status", "cache": "l0"}}}
    session = ObserveSession(config_from_tree(tree, {}))
    for label in ("warm_start", "warm_end", "verify_start", "verify_end"):
        session.boundary(label)
    stored = "l0; fwd=uri-miss; stored"
    warm = results_table([stored, stored, "l0; hit; ttl=3599"], "warm")
    # verify re-asks for k0 and k1, which warm stored: L0 evicted them in between
    verify = results_table([stored, stored, "l0; hit; ttl=3599"], "verify", 3)
    run = pa.concat_tables([verify, warm])  # stored in completion order, not send order
    figures = session.figures(run)
    assert [t.evictions for t in figures.phases["warm"].tiers] == [0]
    assert [t.evictions for t in figures.phases["verify"].tiers] == [2]
    assert figures.phases["verify"].tiers[0].expirations == 0
    # one phase alone does not know what warm stored
    assert session.phase("verify", verify).tiers[0].evictions == 0
