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


def results_table(cache_status: list[str | None], phase: str) -> pa.Table:
    n = len(cache_status)
    return pa.Table.from_pydict(
        {
            "seq": list(range(n)),
            "phase": [phase] * n,
            "method": ["GET"] * n,
            "target": ["/"] * n,
            "key": [f"k{i}" for i in range(n)],
            "sent_s": [i * 0.01 for i in range(n)],
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
    session.start()
    client = redis.Redis.from_url(redis_tcp.url)
    client.set("warm", "1")
    session.boundary("verify_start")
    # 10 requests: l0 hits 6; the 4 l0 misses go to l1, which hits 2; 2 reach the backend
    for key in ("warm", "warm", "cold-1", "cold-2"):
        client.get(key)
    endpoint.backend.inc(2)
    session.boundary("verify_end")
    session.stop()
    rows = results_table(["l0; hit"] * 6 + ["l0; fwd=uri-miss"] * 4, "verify")
    seen = session.phase("verify", rows)
    l0, l1 = seen.tiers
    assert (l0.hits, l0.misses, l0.hit_rate) == (6, 4, 0.6)
    assert (l1.hits, l1.misses, l1.hit_rate) == (2, 2, 0.5)
    assert seen.effective_hit_rate == pytest.approx(0.8)
    assert seen.backend.requests == 2 and seen.backend.offload == pytest.approx(0.8)
    assert seen.backend.consistent is True and seen.backend_gap == pytest.approx(0.0)
    assert "l1.expirations" in seen.extra
    assert session.missing() == {}
    curves = session.curves(rows)
    assert [c.tier for c in curves] == ["l0"]  # effective only when every tier is a header tier
    assert session.timelines()[0]["label"] == "verify_start"


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
    assert l0.note == "3 unparseable values skipped"  # hit=maybe, and two empty members
