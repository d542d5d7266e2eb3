"""PromQL observer against a real Prometheus server scraping a real /metrics endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.observe.conftest import Endpoint
from warmer.demo.services import PrometheusServer, free_port
from warmer.errors import ConfigError, ObserverUnreachableError
from warmer.observe._http import HttpClient
from warmer.observe.interface import TierSnapshot
from warmer.observe.promql import PromQLObserver, QueryRejected, _targets, result_value

QUERIES = {
    "hits": 'sum(candidate_cache_requests_total{tier="l2",result="hit"})',
    "misses": 'sum(candidate_cache_requests_total{tier="l2",result="miss"})',
}


def wait_for(observer: PromQLObserver, ok: Callable[[TierSnapshot], bool]) -> TierSnapshot:
    """Poll until Prometheus has scraped what we expect (bounded: 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        snapshot = observer.snapshot()
        if snapshot is not None and ok(snapshot):
            return snapshot
        assert time.monotonic() < deadline, f"Prometheus never showed it; last {snapshot}"
        time.sleep(0.2)


def test_promql_counts_follow_the_endpoint(
    endpoint: Endpoint, prometheus_factory: Callable[..., PrometheusServer]
) -> None:
    prometheus = prometheus_factory([endpoint.address], scrape_interval_s=0.2)
    endpoint.cache.labels("l2", "hit").inc(0)
    endpoint.cache.labels("l2", "miss").inc(0)
    observer = PromQLObserver("l2", prometheus.url, QUERIES)
    observer.preflight()
    first = wait_for(observer, lambda s: s.hits == 0 and s.misses == 0)
    endpoint.cache.labels("l2", "hit").inc(40)
    endpoint.cache.labels("l2", "miss").inc(10)
    endpoint.cache.labels("l1", "hit").inc(1000)
    second = wait_for(observer, lambda s: s.hits == 40)
    assert (second.hits, second.misses) == (40, 10)
    assert first.at < second.at
    observer.close()


def test_promql_bad_query_is_a_config_error(
    endpoint: Endpoint, prometheus_factory: Callable[..., PrometheusServer]
) -> None:
    prometheus = prometheus_factory([endpoint.address])
    observer = PromQLObserver("backend", prometheus.url, {"requests": "sum(rate(x[1m]"})
    with pytest.raises(ConfigError, match=r"backend\.requests"):
        observer.preflight()


def test_promql_unreachable_is_exit_3() -> None:
    observer = PromQLObserver("l2", f"http://127.0.0.1:{free_port()}", QUERIES, timeout_s=0.5)
    with pytest.raises(ObserverUnreachableError, match="Prometheus for tier l2"):
        observer.preflight()
    assert observer.snapshot() is None


@pytest.mark.parametrize(
    ("payload", "value"),
    [
        ({"status": "success", "data": {"resultType": "vector", "result": []}}, None),
        (
            {
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [
                        {"metric": {}, "value": [1, "2"]},
                        {"metric": {}, "value": [1, "3.5"]},
                    ],
                },
            },
            5.5,
        ),
        ({"status": "success", "data": {"resultType": "scalar", "result": [1, "7"]}}, 7.0),
    ],
)
def test_result_value(payload: object, value: float | None) -> None:
    assert result_value(payload) == value


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"status": "error", "errorType": "bad_data", "error": "parse error"}, QueryRejected),
        ({"status": "success", "data": {"resultType": "matrix", "result": []}}, ValueError),
        ([], ValueError),
    ],
)
def test_result_value_errors(payload: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        result_value(payload)


@pytest.mark.slow
def test_boundaries_wait_for_the_scrape_so_phase_counts_are_whole(
    endpoint: Endpoint, prometheus_factory: Callable[..., PrometheusServer]
) -> None:
    from warmer.config.load import config_from_tree
    from warmer.observe.session import ObserveSession

    # A 1 s scrape on a phase far shorter than that: read at the boundary without waiting,
    # the backend count would come out short (most of the phase not yet scraped).
    prometheus = prometheus_factory([endpoint.address], scrape_interval_s=1.0)
    endpoint.backend.inc(0)
    backend = {"source": "promql", "url": prometheus.url,
               "requests": "sum(candidate_backend_requests_total)"}  # fmt: skip
    session = ObserveSession(config_from_tree({"backend": backend}, {}))
    wait_for(session.observers.live["backend"], lambda s: s.requests == 0)  # type: ignore[arg-type]
    session.boundary("verify_start")
    endpoint.backend.inc(500)
    session.boundary("verify_end")
    assert session.delta("backend", "verify").requests == 500
    assert session._unsettled == {}
    session.stop()


@pytest.mark.slow
def test_a_phase_whose_scrape_never_came_is_reported_inconsistent(
    prometheus_factory: Callable[..., PrometheusServer],
) -> None:
    import pyarrow as pa

    from warmer.config.load import config_from_tree
    from warmer.observe.session import ObserveSession

    dead = f"127.0.0.1:{free_port()}"  # a target that never answers: never healthy
    prometheus = prometheus_factory([dead], scrape_interval_s=0.5)
    backend = {"source": "promql", "url": prometheus.url, "requests": "vector(0)"}
    session = ObserveSession(config_from_tree({"backend": backend}, {}))
    client = HttpClient(prometheus.url, 2.0)
    deadline = time.monotonic() + 60
    while not _targets(client, ""):  # until Prometheus has discovered its target
        assert time.monotonic() < deadline
        time.sleep(0.1)
    client.close()
    session.boundary("verify_start")
    session.boundary("verify_end")
    session.stop()
    assert session._unsettled == {"verify_start": ["backend"], "verify_end": ["backend"]}
    rows = pa.table({"phase": ["verify"], "seq": [0], "sent_s": [0.0], "status": [200]})
    seen = session.figures(rows).phases["verify"]
    assert seen.backend.consistent is False
    assert "had not scraped backend" in (seen.backend.consistency_message or "")
