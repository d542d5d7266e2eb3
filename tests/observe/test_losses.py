"""Tests for inferring header-tier evictions and expirations from Cache-Status."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pyarrow as pa
import pytest

from warmer.observe.losses import TierMemory, header_losses
from warmer.observe.parsers.cache_status import parse_cache_status


def table(rows: Sequence[tuple[str | None, str | None, float, str | None]]) -> pa.Table:
    phases, keys, sent, headers = zip(*rows, strict=True)
    return pa.table(
        {
            "phase": pa.array(phases, pa.string()),
            "key": pa.array(keys, pa.string()),
            "sent_s": pa.array(sent, pa.float64()),
            "cache_status": pa.array(headers, pa.string()),
        }
    )


def test_losses_per_phase_and_tier() -> None:
    rows = [
        ("warm", "a", 0.0, "l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"),
        ("warm", "b", 0.1, "l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"),
        ("warm", "a", 0.2, "l0; hit; ttl=3599"),
        ("warm", "c", 0.3, "l0; fwd=bypass"),
        ("warm", "c", 0.4, "l0; fwd=bypass"),
        ("verify", "a", 5.0, "l1; hit; ttl=5, l0; fwd=uri-miss; stored"),  # L0 lost a: evicted
        ("verify", "b", 5.1, "l1; fwd=uri-miss; stored, l0; fwd=stale; stored"),  # expired
        ("verify", "d", 5.2, "l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"),  # first sight
        ("verify", "e", 5.3, None),
        ("verify", "b", 5.4, "garbage;;;"),
    ]
    losses = header_losses(table(rows), {"l0": "l0", "l1": "l1"})
    assert (losses["warm"]["l0"].evictions, losses["warm"]["l0"].expirations) == (0, 0)
    assert (losses["verify"]["l0"].evictions, losses["verify"]["l0"].expirations) == (1, 1)
    # L1 never reported a ttl on a hit before verify's miss on b: counted as an eviction.
    assert (losses["verify"]["l1"].evictions, losses["verify"]["l1"].expirations) == (1, 0)


def test_miss_older_than_the_ttl_seen_on_hits_is_an_expiration() -> None:
    rows = [
        ("warm", "a", 0.0, "l0; fwd=uri-miss; stored"),
        ("warm", "a", 0.5, "l0; hit; ttl=1"),
        ("warm", "b", 0.6, "l0; fwd=uri-miss; stored"),
        ("verify", "a", 9.0, "l0; fwd=uri-miss; stored"),  # 9 s after a 1 s TTL: expired
        ("verify", "b", 1.8, "l0; fwd=uri-miss; stored"),  # within TTL + slack: evicted
    ]
    losses = header_losses(table(rows), {"l0": "l0"})["verify"]["l0"]
    assert (losses.evictions, losses.expirations) == (1, 1)


def test_memory_carries_over_between_phases() -> None:
    memory: dict[str, TierMemory] = {}
    warm = table([("warm", "a", 0.0, "l0; fwd=uri-miss; stored")])
    verify = table([("verify", "a", 3.0, "l0; fwd=uri-miss; stored")])
    assert header_losses(warm, {"l0": "l0"}, memory)["warm"]["l0"].evictions == 0
    assert header_losses(verify, {"l0": "l0"}, memory)["verify"]["l0"].evictions == 1
    assert header_losses(verify, {"l0": "l0"})["verify"]["l0"].evictions == 0


def test_empty_and_headerless_results() -> None:
    assert header_losses(table([("warm", "a", 0.0, None)]), {"l0": "l0"}) == {}
    empty = table([("warm", "a", 0.0, "")]).slice(0, 0)
    assert header_losses(empty, {"l0": "l0"}) == {}


def reference_losses(
    rows: list[tuple[str | None, str | None, float, str | None]],
    tiers: dict[str, str],
    memory: dict[str, TierMemory],
) -> dict[str, dict[str, tuple[int, int]]]:
    """The inference written as the plain row-by-row loop its docstring describes."""
    losses: dict[str, dict[str, list[int]]] = {}
    for phase, key, sent, header in rows:
        if not header:
            continue
        per_phase = losses.setdefault(phase or "", {t: [0, 0] for t in tiers})
        status = parse_cache_status(header)
        for tier, cache in tiers.items():
            entry, seen = status.find(cache), memory.setdefault(tier, TierMemory())
            if entry is None:
                continue
            if entry.hit:
                if entry.ttl is not None:
                    seen.max_ttl_s = max(seen.max_ttl_s or 0.0, float(entry.ttl))
                continue
            if entry.outcome == "miss" or entry.fwd == "stale":
                stored = seen.stored_at.get(key)
                if entry.fwd == "stale":
                    per_phase[tier][1] += 1
                elif stored is not None:
                    ttl = seen.max_ttl_s
                    expired = ttl is not None and sent - stored > ttl + 1.0
                    per_phase[tier][1 if expired else 0] += 1
            if entry.stored:
                seen.stored_at[key] = sent
    return {p: {t: (c[0], c[1]) for t, c in per.items()} for p, per in losses.items()}


MEMBERS = [
    "{c}; hit", "{c}; hit; ttl={t}", "{c}; hit; ttl=-{t}; stored", "{c}; fwd=uri-miss",
    "{c}; fwd=uri-miss; stored", "{c}; fwd=miss; stored", "{c}; fwd=stale; stored",
    "{c}; fwd=stale", "{c}; fwd=bypass; stored", "{c}; fwd=method", "{c}; stored", "{c};;",
]  # fmt: skip


def generated_rows(seed: int, count: int) -> list[tuple[str | None, str | None, float, str | None]]:
    """Random rows over few keys and headers, so keys are stored, re-missed and hit often."""
    rng = random.Random(seed)
    rows: list[tuple[str | None, str | None, float, str | None]] = []
    sent = 0.0
    for _ in range(count):
        sent += rng.choice([0.0, 0.05, 0.4, 1.5, 4.0])
        members = [
            rng.choice(MEMBERS).format(c=cache, t=rng.randint(0, 3))
            for cache in rng.sample(["l0", "l1", "l2"], rng.randint(0, 3))
        ]
        header = rng.choice([", ".join(members), ", ".join(members), None, "", "garbage;;;"])
        phase = rng.choice(["warm", "warm", "verify", None, ""])
        key = rng.choice([f"k{rng.randint(0, 12)}", f"k{rng.randint(0, 12)}", None])
        rows.append((phase, key, sent, header))
    return rows


@pytest.mark.parametrize("seed", range(25))
def test_whole_column_accounting_matches_the_row_by_row_loop(seed: int) -> None:
    tiers = {"l0": "l0", "l1": "l1", "l2": "l2"}
    rows = generated_rows(seed, 400)
    cut = random.Random(seed).randint(0, len(rows))
    expected_memory: dict[str, TierMemory] = {}
    memory: dict[str, TierMemory] = {}
    for part in (rows[:cut], rows[cut:]):  # two calls: memory carried like warm → verify
        expected = reference_losses(part, tiers, expected_memory)
        got = header_losses(table(part), tiers, memory) if part else {}
        counts = {
            p: {t: (lost.evictions, lost.expirations) for t, lost in per.items()}
            for p, per in got.items()
        }
        assert counts == expected
        assert list(counts) == list(expected)  # phases in order of first appearance
    assert memory == expected_memory


def test_a_negative_ttl_on_a_hit_teaches_a_ttl_of_zero() -> None:
    rows: list[tuple[str | None, str | None, float, str | None]] = [
        ("warm", "a", 0.0, "l0; fwd=uri-miss; stored"),
        ("warm", "b", 0.1, "l0; hit; ttl=-5"),
        ("warm", "a", 0.6, "l0; fwd=uri-miss"),  # 0.6 s after its store: within 0 + slack
    ]
    lost = header_losses(table(rows), {"l0": "l0"})["warm"]["l0"]
    assert (lost.evictions, lost.expirations) == (1, 0)
