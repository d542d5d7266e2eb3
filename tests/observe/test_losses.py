"""Tests for inferring header-tier evictions and expirations from Cache-Status."""

from __future__ import annotations

import pyarrow as pa

from warmer.observe.losses import TierMemory, header_losses


def table(rows: list[tuple[str, str, float, str | None]]) -> pa.Table:
    phases, keys, sent, headers = zip(*rows, strict=True)
    return pa.table(
        {
            "phase": list(phases),
            "key": list(keys),
            "sent_s": list(sent),
            "cache_status": list(headers),
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
