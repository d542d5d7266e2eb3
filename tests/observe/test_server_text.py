"""Redis INFO and Memcached stats text parsers: typed fields, keyspace, garbage counted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warmer.observe.parsers.memcached_stats import parse_stats
from warmer.observe.parsers.redis_info import parse_info

INFO = """# Server\r
redis_version:7.0.15\r
run_id:0123abcd\r
uptime_in_seconds:42\r
\r
# Memory\r
used_memory:1016160\r
maxmemory:1048576\r
maxmemory_policy:allkeys-lru\r
mem_fragmentation_ratio:2.35\r
\r
# Stats\r
keyspace_hits:90\r
keyspace_misses:10\r
evicted_keys:3\r
expired_keys:4\r
\r
# Keyspace\r
db0:keys=10,expires=2,avg_ttl=1500\r
db3:keys=5,expires=0,avg_ttl=0\r
"""


def test_info_fields_and_keyspace() -> None:
    info = parse_info(INFO)
    assert info.number("keyspace_hits") == 90
    assert info.number("keyspace_misses") == 10
    assert info.fields["maxmemory_policy"] == "allkeys-lru"
    assert info.fields["redis_version"] == "7.0.15"
    assert info.fields["mem_fragmentation_ratio"] == 2.35
    assert info.keyspace["db0"] == {"keys": 10, "expires": 2, "avg_ttl": 1500}
    assert info.keys == 15
    assert info.expires == 2
    assert info.malformed == 0


@pytest.mark.parametrize(
    ("text", "malformed"),
    [
        ("keyspace_hits:1\nthis is not a field\n", 1),
        ("db0:keys\n", 1),  # keyspace line without key=value pairs
        ("db0:keys=1,oops\n", 1),
        (":no-name\n", 1),
        ("# Section only\n\n", 0),
    ],
)
def test_info_garbage_is_counted(text: str, malformed: int) -> None:
    assert parse_info(text).malformed == malformed


def test_info_missing_field_is_none() -> None:
    assert parse_info("redis_version:7\n").number("keyspace_hits") is None
    assert parse_info("run_id:abc\n").number("run_id") is None


STATS = """STAT pid 22257\r
STAT uptime 12\r
STAT rusage_user 0.010000\r
STAT get_hits 7\r
STAT get_misses 3\r
STAT evictions 0\r
STAT curr_items 5\r
STAT bytes 420\r
STAT limit_maxbytes 67108864\r
STAT version 1.6.21\r
END\r
"""


def test_stats_values() -> None:
    stats = parse_stats(STATS)
    assert stats.number("get_hits") == 7
    assert stats.number("get_misses") == 3
    assert stats.number("limit_maxbytes") == 67108864
    assert stats.values["rusage_user"] == 0.01
    assert stats.values["version"] == "1.6.21"
    assert stats.malformed == 0


@pytest.mark.parametrize(
    ("text", "malformed"),
    [
        ("STAT get_hits 1\nERROR\nEND\n", 1),
        ("STAT only_name\n", 1),
        ("STATS get_hits 1\n", 1),
        ("END\n", 0),
    ],
)
def test_stats_garbage_is_counted(text: str, malformed: int) -> None:
    assert parse_stats(text).malformed == malformed


@given(st.text(max_size=300))
def test_server_text_parsers_never_raise(text: str) -> None:
    assert parse_info(text).malformed >= 0
    assert parse_stats(text).malformed >= 0


@given(st.lists(st.tuples(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.integers(0, 10**12))))
def test_info_round_trips_integer_fields(pairs: list[tuple[str, int]]) -> None:
    pairs = [(k, v) for k, v in pairs if not k.startswith("db")]
    info = parse_info("".join(f"{k}:{v}\r\n" for k, v in pairs))
    assert info.fields == dict(pairs)
