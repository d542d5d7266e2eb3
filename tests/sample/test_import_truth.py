"""Imports of the bundled nginx log and HAR agree with the canonical JSONL truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from warmer.sample.importer import ImportOptions, import_logs
from warmer.sample.store import open_sample

SAMPLES = Path(__file__).resolve().parents[2] / "traffic_samples"
LOG_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_cache_status'
)


@pytest.fixture(scope="module")
def truth() -> list[dict[str, Any]]:
    return open_sample(SAMPLES / "demo.jsonl.gz").to_table().to_pylist()


def _import(tmp_path: Path, name: str, **kw: Any) -> list[dict[str, Any]]:
    out = tmp_path / "out.parquet"
    report = import_logs([str(SAMPLES / name)], out, ImportOptions(**kw))
    assert report.sources[0].rejects.count == 0
    return open_sample(out).to_table().to_pylist()


def _same_target(got: str, want: str, pairs: set[tuple[str, str]]) -> None:
    """Equal but for the token's value, which became a pseudonym (remembered in ``pairs``)."""
    if "token=" not in want:
        assert got == want
        return
    head, _, secret = want.partition("token=")
    assert got.startswith(head + "token=REDACTED-") and secret not in got
    pairs.add((secret, got.partition("token=")[2]))


def _one_to_one(pairs: set[tuple[str, str]]) -> None:
    """Each secret got one pseudonym and different secrets different ones."""
    assert pairs and len({a for a, _ in pairs}) == len({b for _, b in pairs}) == len(pairs)


def _same_request(
    got: dict[str, Any], want: dict[str, Any], *, exact_ts: bool, pairs: set[tuple[str, str]]
) -> None:
    assert got["method"] == want["method"]
    _same_target(got["target"], want["target"], pairs)
    assert got["status"] == want["status"]
    assert got["response_bytes"] == want["response_bytes"]
    assert got["duration_ms"] == want["duration_ms"]
    assert got["cache_status"] == want["cache_status"]
    if exact_ts:
        assert got["ts"] == pytest.approx(want["ts"], abs=1e-6)
    else:
        assert int(want["ts"]) == got["ts"]
    if "token=" not in want["target"]:
        assert got["key"] == want["key"]


@pytest.mark.parametrize("how", [{"format": "auto"}, {"format": "nginx", "log_format": LOG_FORMAT}])
def test_nginx_log_matches_truth(
    tmp_path: Path, truth: list[dict[str, Any]], how: dict[str, Any]
) -> None:
    rows = _import(tmp_path, "demo-access.log.gz", **how)
    assert len(rows) == len(truth)
    pairs: set[tuple[str, str]] = set()
    for got, want in zip(rows, truth, strict=True):
        _same_request(got, want, exact_ts=False, pairs=pairs)
        want_headers = dict(want["headers"])
        want_headers.pop("content-type", None)  # POST bodies' type is not in the log
        assert dict(got["headers"]) == want_headers
    _one_to_one(pairs)
    assert len({r["key"] for r in rows}) == len({r["key"] for r in truth})


def test_har_matches_truth(tmp_path: Path, truth: list[dict[str, Any]]) -> None:
    rows = _import(tmp_path, "demo.har.gz")
    assert len(rows) == 15000
    pairs: set[tuple[str, str]] = set()
    for got, want in zip(rows, truth, strict=False):
        _same_request(got, want, exact_ts=True, pairs=pairs)
        assert (got["scheme"], got["host"], got["body"]) == (
            want["scheme"],
            want["host"],
            want["body"],
        )
        headers = dict(got["headers"])
        headers.pop("accept", None)
        assert headers == dict(want["headers"])
    _one_to_one(pairs)


def test_same_client_same_hash_and_no_raw_address(
    tmp_path: Path, truth: list[dict[str, Any]]
) -> None:
    rows = _import(tmp_path, "demo-access.log.gz")
    pairs = {(w["client"], g["client"]) for g, w in zip(rows, truth, strict=True)}
    assert len({w for w, _ in pairs}) == len({g for _, g in pairs}) == len(pairs)
    assert not any(g["client"].startswith("10.") for g in rows)
