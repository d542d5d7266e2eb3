"""Every kind of source on the reference candidate: the tiers agree with each other."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pyarrow as pa
import pytest

from warmer.config import config_from_tree
from warmer.demo.candidate.server import CandidateServer
from warmer.demo.candidate.settings import CandidateSettings
from warmer.demo.services import RedisServer
from warmer.model.results import RESULTS_ARROW_SCHEMA
from warmer.observe.session import ObserveSession


def send(url: str, paths: list[str]) -> pa.Table:
    """GET every path in order and record the responses as a results table."""
    rows: dict[str, list[object]] = {
        k: [] for k in ("seq", "sent_s", "status", "cache_status", "x_cache", "age")
    }
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
        for seq, path in enumerate(paths):
            response = client.get(path)
            rows["seq"].append(seq)
            rows["sent_s"].append(float(seq))
            rows["status"].append(response.status_code)
            rows["cache_status"].append(response.headers.get("cache-status"))
            rows["x_cache"].append(response.headers.get("x-cache"))
            rows["age"].append(response.headers.get("age"))
    schema = pa.schema([RESULTS_ARROW_SCHEMA.field(name) for name in rows])
    return pa.Table.from_pydict(rows, schema=schema)


@pytest.fixture
def candidate(redis_factory: Callable[..., RedisServer]) -> CandidateServer:
    l1, l2 = redis_factory(unix_socket=True), redis_factory()
    settings = CandidateSettings(
        l0_capacity=20, l1_url=l1.url, l2_url=l2.url, backend_latency_ms=1, backend_jitter_ms=0
    )
    server = CandidateServer(settings).start()
    yield server  # type: ignore[misc]
    server.stop()


def test_header_redis_and_metrics_sources_agree(candidate: CandidateServer) -> None:
    settings = candidate.settings
    metric = "candidate_cache_requests_total"
    tree = {
        "tiers": {
            "l0": {"source": "cache-status", "cache": "l0"},
            "l1": {"source": "redis", "url": settings.l1_url},
            "l2": {"source": "redis", "url": settings.l2_url},
            "l2m": {
                "source": "prometheus",
                "url": candidate.metrics_url,
                "hits": f'{metric}{{tier="l2",result="hit"}}',
                "misses": f'{metric}{{tier="l2",result="miss"}}',
            },
        },
        "backend": {
            "source": "prometheus",
            "url": candidate.metrics_url,
            "requests": "candidate_backend_requests_total",
        },
        "observe": {"interval_s": 0.2},
    }
    session = ObserveSession(config_from_tree(tree, {}))
    session.preflight()
    session.start()
    session.boundary("warm_start")
    # 60 keys through a 20-entry L0, a hot 10 in between: L1 catches what L0 evicted
    keys = [*range(60), *(i % 10 for i in range(120)), *range(60)]
    paths = [f"/product/{k}" for k in keys]
    rows = send(candidate.url, paths)
    session.boundary("warm_end")
    session.stop()
    seen = session.phase("warm", rows)
    l0, l1, l2, l2m = seen.tiers
    assert l0.lookups == 240 and l0.hits is not None and 0 < l0.hits < 240
    assert l1.lookups == l0.misses  # read-through: L1 is asked on every L0 miss
    assert l2.lookups == l1.misses
    assert (l2m.hits, l2m.misses) == (l2.hits, l2.misses)  # Redis INFO agrees with the app
    assert seen.backend.requests == l2.misses == 60  # each key built once
    assert seen.backend.offload == pytest.approx(1 - 60 / 240)
    assert seen.effective_hit_rate is not None
    # Every L2 lookup missed (each key is built once), so counting L2 twice (l2, l2m) leaves
    # 1 − Π(miss ratios) unchanged: the tiers imply exactly the backend's offload.
    assert seen.effective_hit_rate == pytest.approx(0.75)
    assert seen.backend.consistent is True and seen.backend_gap == pytest.approx(0.0)
    assert session.missing() == {}
