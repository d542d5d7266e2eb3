"""The candidate's pure parts: L0 LRU/TTL counting, cache keys, settings, backend bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from warmer.demo.candidate import CandidateSettings
from warmer.demo.candidate.backend import render, route_of
from warmer.demo.candidate.l0 import LRUCache
from warmer.demo.candidate.service import cache_key
from warmer.errors import ConfigError


class FakeClock:
    """A clock the test moves by hand (the L0 takes any callable)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_l0_hit_after_store_and_miss_before() -> None:
    cache = LRUCache(2, 10.0, clock=FakeClock())
    assert cache.lookup("a").entry is None
    cache.store("a", b"A")
    found = cache.lookup("a").entry
    assert found is not None and found.value == b"A"
    assert (cache.hits, cache.misses) == (1, 1)


def test_l0_evicts_least_recently_used_fresh_entry_as_eviction() -> None:
    cache = LRUCache(2, 10.0, clock=FakeClock())
    cache.store("a", b"A")
    cache.store("b", b"B")
    cache.lookup("a")  # b is now the least recently used
    cache.store("c", b"C")
    assert cache.lookup("b").entry is None
    assert cache.lookup("a").entry is not None
    assert (cache.evictions, cache.expirations, len(cache)) == (1, 0, 2)


def test_l0_expired_entry_is_a_miss_counted_as_expiration() -> None:
    clock = FakeClock()
    cache = LRUCache(10, 5.0, clock=clock)
    cache.store("a", b"A")
    clock.now += 5.0
    lookup = cache.lookup("a")
    assert lookup.entry is None and lookup.expired
    assert (cache.expirations, cache.evictions, cache.misses, len(cache)) == (1, 0, 1, 0)


def test_l0_pushing_out_an_expired_entry_counts_expiration_not_eviction() -> None:
    clock = FakeClock()
    cache = LRUCache(1, 5.0, clock=clock)
    cache.store("a", b"A")
    clock.now += 6.0
    cache.store("b", b"B")
    assert (cache.expirations, cache.evictions) == (1, 0)


def test_l0_ttl_is_capped_and_age_kept() -> None:
    clock = FakeClock()
    cache = LRUCache(10, 5.0, clock=clock)
    entry = cache.store("a", b"A", ttl_s=60.0, age_s=3.0)
    assert entry is not None
    assert entry.ttl(clock.now) == pytest.approx(5.0)
    assert clock.now - entry.stored_at == pytest.approx(3.0)


def test_l0_of_capacity_zero_stores_nothing() -> None:
    cache = LRUCache(0, 5.0)
    assert cache.store("a", b"A") is None
    assert cache.lookup("a").entry is None


@pytest.mark.parametrize(
    ("path", "query", "key"),
    [
        ("/product/7", "", "/product/7"),
        ("/product/7", "utm_source=x&gclid=1", "/product/7"),
        ("/search", "q=shoe&page=1", "/search?page=1&q=shoe"),
        ("/search", "page=1&q=shoe&utm_medium=m", "/search?page=1&q=shoe"),
        ("/search", "q=a&&_=123", "/search?q=a"),
        ("/static/app.js", "v=2", "/static/app.js?v=2"),
        ("/category/shoes", "sort=price", "/category/shoes?sort=price"),
        ("/favicon.ico", "", "/favicon.ico"),
        ("/api/cart", "", None),
        ("/account/orders", "", None),
        ("/searching", "", None),
        ("/", "", None),
    ],
)
def test_cache_key(path: str, query: str, key: str | None) -> None:
    assert cache_key(path, query) == key


def test_backend_bodies_are_deterministic_and_sized_by_route() -> None:
    product, again = render("/product/1"), render("/product/1")
    assert product == again and product.status == 200
    assert len(render("/static/a.png").body) > len(render("/api/cart").body)
    assert render("/nowhere").status == 404
    assert route_of("/search") == "search" and route_of("/x/y") == "other"


def test_settings_round_trip_through_json_and_env() -> None:
    settings = CandidateSettings(l0_capacity=7, l2_url="redis://127.0.0.1:1/0", x_cache=True)
    assert CandidateSettings.from_json(settings.to_json()) == settings
    env = {
        "WARMER_CANDIDATE_L0_CAPACITY": "7",
        "WARMER_CANDIDATE_L0_TTL_S": "1.5",
        "WARMER_CANDIDATE_L2_URL": "",
        "WARMER_CANDIDATE_X_CACHE": "true",
        "OTHER": "ignored",
    }
    from_env = CandidateSettings.from_env(env)
    assert (from_env.l0_capacity, from_env.l0_ttl_s, from_env.l2_url, from_env.x_cache) == (
        7,
        1.5,
        None,
        True,
    )


@pytest.mark.parametrize(
    "text",
    ['{"l0_capacity": -1}', '{"nope": 1}', "[1]", "{", '{"backend_concurrency": 0}'],
)
def test_bad_settings_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        CandidateSettings.from_json(text)


def test_bad_env_number_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="WARMER_CANDIDATE_L0_CAPACITY"):
        CandidateSettings.from_env({"WARMER_CANDIDATE_L0_CAPACITY": "many"})


def test_entry_point_reads_a_settings_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warmer.demo.candidate.__main__ import load_settings, main

    path = tmp_path / "settings.json"
    path.write_text(CandidateSettings(l0_capacity=9).to_json())
    assert load_settings(["--settings-file", str(path), "--port", "1234"]).port == 1234
    assert load_settings(["--settings-file", str(path)]).l0_capacity == 9
    monkeypatch.setenv("WARMER_CANDIDATE_L0_CAPACITY", "11")
    assert load_settings([]).l0_capacity == 11
    monkeypatch.setenv("WARMER_CANDIDATE_BACKEND_CONCURRENCY", "0")
    assert main([]) == 2  # bad settings: usage exit, nothing served
