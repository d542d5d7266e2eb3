"""Tests for inferring header-tier evictions and expirations from Cache-Status."""

from __future__ import annotations

import pyarrow as pa

from warmer.gate.losses import header_losses


def table(rows: list[tuple[str, str, str | None]]) -> pa.Table:
    phases, keys, headers = zip(*rows, strict=True)
    return pa.table({"phase": list(phases), "key": list(keys), "cache_status": list(headers)})


def test_losses_per_phase_and_tier() -> None:
    rows = [
        ("warm", "a", "l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"),
        ("warm", "b", "l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"),
        ("warm", "a", "l0; hit; ttl=10"),
        ("warm", "c", "l0; fwd=bypass"),
        ("warm", "c", "l0; fwd=bypass"),
        ("verify", "a", "l1; hit; ttl=5, l0; fwd=uri-miss; stored"),  # L0 lost a: evicted
        ("verify", "b", "l1; fwd=uri-miss; stored, l0; fwd=stale; stored"),  # L0 b expired
        ("verify", "d", "l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"),  # first sight
        ("verify", "e", None),
        ("verify", "b", "garbage;;;"),
    ]
    losses = header_losses(table(rows), {"l0": "l0", "l1": "l1"})
    assert (losses["warm"]["l0"].evictions, losses["warm"]["l0"].expirations) == (0, 0)
    assert (losses["verify"]["l0"].evictions, losses["verify"]["l0"].expirations) == (1, 1)
    assert (losses["verify"]["l1"].evictions, losses["verify"]["l1"].expirations) == (1, 0)


def test_stored_keys_carry_over_between_phases() -> None:
    stored: dict[str, set[str]] = {}
    warm = table([("warm", "a", "l0; fwd=uri-miss; stored")])
    verify = table([("verify", "a", "l0; fwd=uri-miss; stored")])
    assert header_losses(warm, {"l0": "l0"}, stored)["warm"]["l0"].evictions == 0
    assert header_losses(verify, {"l0": "l0"}, stored)["verify"]["l0"].evictions == 1
    assert header_losses(verify, {"l0": "l0"})["verify"]["l0"].evictions == 0
