"""PromQL observer against a real Prometheus server scraping a real /metrics endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.observe.conftest import Endpoint
from warmer.demo.services import PrometheusServer, free_port
from warmer.errors import ConfigError, ObserverUnreachableError
from warmer.observe.interface import TierSnapshot
from warmer.observe.promql import PromQLObserver, QueryRejected, result_value

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
