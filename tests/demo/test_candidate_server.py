"""The candidate as a real uvicorn subprocess in front of real Redis servers."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import require
from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.candidate.metrics import METRIC_NAMES
from warmer.demo.services import PrometheusServer, RedisServer, find_redis_server
from warmer.observe.parsers.cache_status import parse_cache_status

Factory = Callable[..., CandidateServer]

# RFC 9211 §2: a List of cache names, each with parameters; this is the subset we emit.
MEMBER = (
    r"l[012](?:; hit; ttl=\d+|; fwd=(?:uri-miss|stale|bypass|method|miss)(?:; stored)?"
    r"(?:; detail=[a-z]+)?)"
)
HEADER = re.compile(rf"{MEMBER}(?:, {MEMBER})*")


@pytest.fixture
def tiers() -> Iterator[tuple[RedisServer, RedisServer]]:
    """L1 on a Unix socket and L2 over TCP."""
    require(find_redis_server(), "redis-server")
    with RedisServer(unix_socket=True) as l1, RedisServer() as l2:
        yield l1, l2


@pytest.fixture
def candidate_factory() -> Iterator[Factory]:
    """Start candidates with the given settings; all stopped at teardown."""
    started: list[CandidateServer] = []

    def make(**settings: object) -> CandidateServer:
        defaults: dict[str, object] = {"backend_latency_ms": 2.0, "backend_jitter_ms": 1.0}
        server = CandidateServer(CandidateSettings(**(defaults | settings)))  # type: ignore[arg-type]
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def full(tiers: tuple[RedisServer, RedisServer], candidate_factory: Factory) -> CandidateServer:
    l1, l2 = tiers
    return candidate_factory(l1_url=l1.url, l2_url=l2.url)


def status(server: CandidateServer, target: str, method: str = "GET") -> str:
    response = httpx.request(method, server.url + target)
    assert response.status_code < 500
    value = response.headers["cache-status"]
    assert HEADER.fullmatch(value), value
    assert parse_cache_status(value).malformed == 0
    return str(value)


def metrics(server: CandidateServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(server.metrics_url).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def test_read_through_fills_every_tier_nearest_origin_first(full: CandidateServer) -> None:
    assert status(full, "/product/1") == (
        "l2; fwd=uri-miss; stored, l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"
    )
    assert re.fullmatch(r"l0; hit; ttl=\d+", status(full, "/product/1"))


def test_cold_restart_loses_l0_and_hits_l1(full: CandidateServer) -> None:
    status(full, "/search?q=a&page=1")
    full.restart()
    # Same key through query normalisation: order and utm_* do not matter.
    assert re.fullmatch(
        r"l1; hit; ttl=\d+, l0; fwd=uri-miss; stored", status(full, "/search?page=1&q=a&utm_x=y")
    )
    assert re.fullmatch(r"l0; hit; ttl=\d+", status(full, "/search?q=a&page=1"))


def test_l2_hit_fills_l1_and_l0(
    tiers: tuple[RedisServer, RedisServer], candidate_factory: Factory
) -> None:
    l1, l2 = tiers
    first = candidate_factory(l2_url=l2.url)  # writes L2 only
    status(first, "/static/app.js")
    second = candidate_factory(l1_url=l1.url, l2_url=l2.url)
    assert re.fullmatch(
        r"l2; hit; ttl=\d+, l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored",
        status(second, "/static/app.js"),
    )
    response = httpx.get(second.url + "/static/app.js")
    assert response.headers["cache-status"].startswith("l0; hit") and "age" in response.headers


def test_uncacheable_requests_bypass_and_reach_the_backend(full: CandidateServer) -> None:
    for _ in range(2):
        assert status(full, "/api/cart") == "l0; fwd=bypass"
        assert status(full, "/account/orders") == "l0; fwd=bypass"
        assert status(full, "/product/9/reviews", "POST") == "l0; fwd=method"
    found = metrics(full)
    assert value(found, "candidate_backend_requests_total") == 6
    assert value(found, "candidate_cache_requests_total", tier="l0", result="miss") == 0


def test_head_shares_the_get_entry_and_has_no_body(full: CandidateServer) -> None:
    status(full, "/product/5")
    response = httpx.head(full.url + "/product/5")
    assert response.headers["cache-status"].startswith("l0; hit")
    assert response.content == b"" and int(response.headers["content-length"]) > 0


def test_missing_l2_is_not_listed(
    tiers: tuple[RedisServer, RedisServer], candidate_factory: Factory
) -> None:
    l1, _ = tiers
    server = candidate_factory(l1_url=l1.url)
    assert status(server, "/product/2") == "l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"
    assert ("candidate_cache_requests_total", (("result", "hit"), ("tier", "l2"))) not in metrics(
        server
    )


def test_no_redis_tiers_lists_only_l0(candidate_factory: Factory) -> None:
    server = candidate_factory()
    assert status(server, "/product/2") == "l0; fwd=uri-miss; stored"


def test_undersized_l0_evicts(candidate_factory: Factory) -> None:
    server = candidate_factory(l0_capacity=3)
    for round_ in range(2):
        for item in range(6):
            status(server, f"/product/{item}")
        assert round_ == 0 or status(server, "/product/0").startswith("l0; fwd=uri-miss")
    found = metrics(server)
    assert value(found, "candidate_cache_evictions_total", tier="l0") >= 9
    assert value(found, "candidate_cache_entries", tier="l0") == 3
    assert value(found, "candidate_cache_requests_total", tier="l0", result="hit") == 0


def test_short_ttl_expires_in_every_tier(
    tiers: tuple[RedisServer, RedisServer], candidate_factory: Factory
) -> None:
    l1, l2 = tiers
    server = candidate_factory(
        l1_url=l1.url, l2_url=l2.url, l0_ttl_s=1.0, l1_ttl_s=1.0, l2_ttl_s=1.0
    )
    status(server, "/product/3")
    assert status(server, "/product/3").startswith("l0; hit")
    time.sleep(1.3)  # a behaviour test: the entry must be gone once its TTL passed
    assert status(server, "/product/3") == (
        "l2; fwd=uri-miss; stored, l1; fwd=uri-miss; stored, l0; fwd=stale; stored"
    )
    assert value(metrics(server), "candidate_cache_expirations_total", tier="l0") == 1


def test_backend_counter_equals_misses_that_reached_it(full: CandidateServer) -> None:
    targets = ["/product/1", "/product/2", "/product/1", "/search?q=x", "/api/cart", "/nowhere"]
    reached = 0
    for target in targets * 2:
        value_ = status(full, target)
        reached += not value_.startswith(("l0; hit", "l1; hit", "l2; hit"))
    found = metrics(full)
    assert value(found, "candidate_backend_requests_total") == reached == 7
    l2_misses = value(found, "candidate_cache_requests_total", tier="l2", result="miss")
    assert l2_misses == 3  # the uncacheable ones never looked


def test_metrics_parse_and_every_documented_metric_is_there(full: CandidateServer) -> None:
    status(full, "/product/1")
    status(full, "/product/1")
    text = httpx.get(full.metrics_url).text
    names = {family.name for family in text_string_to_metric_families(text)}
    # The parser names a counter family without its "_total" suffix.
    assert {name.removesuffix("_total") for name in METRIC_NAMES} <= names
    found = metrics(full)
    assert value(found, "candidate_cache_entries", tier="l1") == 1
    assert value(found, "candidate_http_request_duration_seconds_count", served_by="l0") == 1


def test_x_cache_legacy_header_on_request(candidate_factory: Factory) -> None:
    server = candidate_factory(x_cache=True)
    assert httpx.get(server.url + "/product/1").headers["x-cache"] == "MISS"
    assert httpx.get(server.url + "/product/1").headers["x-cache"] == "HIT"


def test_backend_concurrency_bound_holds(candidate_factory: Factory) -> None:
    server = candidate_factory(
        backend_concurrency=3, backend_latency_ms=30.0, backend_jitter_ms=0.0
    )
    errors: list[BaseException] = []

    def hammer(worker: int) -> None:
        try:
            with httpx.Client(base_url=server.url) as client:
                for item in range(8):
                    client.get(f"/api/cart?w={worker}&i={item}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    found = metrics(server)
    assert value(found, "candidate_backend_requests_total") == 64
    assert value(found, "candidate_backend_inflight_peak") == 3
    assert value(found, "candidate_backend_inflight") == 0


def test_redis_tier_failure_degrades_to_a_miss(
    tiers: tuple[RedisServer, RedisServer], candidate_factory: Factory
) -> None:
    l1, l2 = tiers
    server = candidate_factory(l1_url=l1.url, l2_url=l2.url)
    l2.kill()
    response = httpx.get(server.url + "/product/4")
    assert response.status_code == 200
    assert response.headers["cache-status"] == (
        "l2; fwd=miss; detail=error, l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"
    )
    assert value(metrics(server), "candidate_cache_errors_total", tier="l2") >= 1


def test_a_real_prometheus_scrapes_every_tier_and_the_backend(
    full: CandidateServer, prometheus_factory: Callable[..., PrometheusServer]
) -> None:
    prometheus = prometheus_factory([full.address], scrape_interval_s=0.5)
    for target in ("/product/1", "/product/1", "/api/cart"):
        status(full, target)
    query = (
        "sum by (tier, result) (candidate_cache_requests_total) or candidate_backend_requests_total"
    )
    deadline = time.monotonic() + 20
    seen: dict[str, float] = {}
    while time.monotonic() < deadline and seen.get("backend") != 2:
        answer = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": query}).json()
        seen = {
            "/".join(filter(None, (r["metric"].get("tier"), r["metric"].get("result"))))
            or "backend": float(r["value"][1])
            for r in answer["data"]["result"]
        }
        time.sleep(0.3)
    assert seen["backend"] == 2
    assert (seen["l0/hit"], seen["l0/miss"], seen["l1/miss"], seen["l2/miss"]) == (1, 1, 1, 1)
