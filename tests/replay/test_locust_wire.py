"""The Locust engine's pure parts: frames, key shards, options (no processes started)."""

from __future__ import annotations

import random
import zlib
from collections import Counter

import pytest

from warmer.errors import UsageError
from warmer.replay.locust_engine import LocustOptions, wire
from warmer.replay.locust_engine.options import parse_host_port
from warmer.replay.locust_engine.sharding import BUCKETS, KeyShards


def test_frames_survive_any_split_of_the_stream() -> None:
    frames = [("jobs", {"w": 1, "b": b"\x00\xff" * 300}), ("end", None), ("rows", [[1, None]])]
    stream = b"".join(wire.frame(kind, data) for kind, data in frames)
    for cut in (1, 3, 4, 5, 17, len(stream) - 1):
        reader = wire.FrameReader()
        got = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
        assert [(k, d) for k, d in got] == frames, cut


def test_a_byte_at_a_time_gives_each_frame_once() -> None:
    stream = wire.frame("a", 1) + wire.frame("b", {"x": "ü"})
    reader = wire.FrameReader()
    got = [frame for i in range(len(stream)) for frame in reader.feed(stream[i : i + 1])]
    assert got == [("a", 1), ("b", {"x": "ü"})]


def test_an_absurd_frame_length_is_refused() -> None:
    with pytest.raises(ValueError, match="larger than"):
        wire.FrameReader().feed(b"\xff\xff\xff\xff")


def test_each_key_stays_with_one_worker() -> None:
    shards = KeyShards(3)
    keys = [f"GET /item/{i % 50}" for i in range(1000)]
    owners: dict[str, set[int]] = {}
    for key in keys:
        owners.setdefault(key, set()).add(shards.worker(key))
    assert all(len(workers) == 1 for workers in owners.values())
    assert {w for ws in owners.values() for w in ws} == {0, 1, 2}
    assert sum(shards.load) == 1000


def test_a_hot_key_does_not_unbalance_the_workers() -> None:
    """A Zipf 1.3 sample over 1 000 keys: one key is a quarter of the requests."""
    rng = random.Random(7)
    weights = [1 / (rank + 1) ** 1.3 for rank in range(1000)]
    keys = [f"GET /item/{k}" for k in rng.choices(range(1000), weights, k=50_000)]
    for workers in (2, 4):
        shards = KeyShards(workers)
        for key in keys:
            shards.worker(key)
        top = max(Counter(keys).values()) / len(keys)
        best = max(top, 1 / workers)
        assert max(shards.load) / len(keys) < best + 0.03, (workers, shards.load)
    # Plain hashing would give a worker far more (the skew the shards are for).
    hashed = Counter(zlib.crc32(key.encode()) % 2 for key in keys)
    assert max(hashed.values()) / len(keys) > 0.6


def test_the_shards_memory_does_not_grow_with_the_keys() -> None:
    shards = KeyShards(2)
    for i in range(100_000):
        shards.worker(f"GET /once/{i}")
    assert len(shards.owner) == BUCKETS and abs(shards.load[0] - shards.load[1]) <= 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.5:6000", ("10.0.0.5", 6000)),
        ("10.0.0.5", ("10.0.0.5", 5557)),
        (":6000", ("0.0.0.0", 6000)),
        ("[fd00::5]:6000", ("fd00::5", 6000)),
        ("[fd00::5]", ("fd00::5", 5557)),
        ("master.internal:0", ("master.internal", 0)),
    ],
)
def test_host_port_grammar(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text, 5557, "--master") == expected


@pytest.mark.parametrize("text", ["", "h:port", "h:70000", "[fd00::5", "a:b:c", "[::1]x"])
def test_bad_host_port_names_the_option(text: str) -> None:
    with pytest.raises(UsageError, match="--master-bind"):
        parse_host_port(text, 5557, "--master-bind")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (LocustOptions(workers=-1), "must not be negative"),
        (LocustOptions(workers=0), "no workers to wait for"),
        (LocustOptions(workers=2, expect=1), "fewer than the 2 local workers"),
        (LocustOptions(wait_s=0), "--workers-timeout"),
        (LocustOptions(bind="x:y"), "--master-bind"),
    ],
)
def test_impossible_layouts_are_usage_errors(options: LocustOptions, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        options.validate()


def test_remote_only_layout_and_where_local_workers_connect() -> None:
    remote = LocustOptions(workers=0, expect=3, bind="0.0.0.0:6000")
    remote.validate()
    assert remote.expected == 3 and remote.address() == ("0.0.0.0", 6000)
    assert remote.local_master_host() == "127.0.0.1"
    assert LocustOptions(bind="[::]:6000").local_master_host() == "::1"
    assert LocustOptions(bind="10.1.2.3").local_master_host() == "10.1.2.3"
    assert LocustOptions().address() == ("127.0.0.1", 0)
