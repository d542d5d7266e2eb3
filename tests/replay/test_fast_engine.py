"""The default engine against real servers: uvicorn over TCP, TLS and a Unix socket, nginx."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.replay.conftest import Nginx, Uvicorn, records
from warmer.replay import ReplayPlan, ReplaySummary, ResultsWriter, open_results, replay

ENGINES = ["fast", "httpx"]


def run(
    tmp_path: Path, recs: list[Any], target: str, **plan: Any
) -> tuple[ReplaySummary, dict[str, dict[str, Any]]]:
    """Replay ``recs``; returns the summary and the last row per target path."""
    out = tmp_path / "results.parquet"
    with ResultsWriter(out) as writer:
        summary = replay(recs, ReplayPlan(target=target, **plan), writer, phase="warm")
    rows = open_results(out).to_table().to_pylist()
    assert len(rows) == summary.sent
    return summary, {row["target"]: row for row in rows}


@pytest.mark.parametrize("engine", ENGINES)
def test_records_status_bytes_and_cache_headers(
    server: Uvicorn, tmp_path: Path, engine: str
) -> None:
    paths = ["/hit/1", "/chunked", "/close", "/status/404", "/big?n=300000"] * 20
    summary, rows = run(tmp_path, records(paths), server.url, engine=engine, concurrency=4)
    assert summary.sent == 100 and summary.errors == {}
    assert summary.status_classes == {"2xx": 80, "4xx": 20}
    hit = rows["/hit/1"]
    assert (hit["status"], hit["response_bytes"], hit["phase"]) == (200, 5, "warm")
    assert hit["cache_status"] == "edge; hit; ttl=30, app; fwd=uri-miss"
    assert (hit["x_cache"], hit["x_cache_status"], hit["age"]) == ("HIT", "HIT", "7")
    assert rows["/chunked"]["response_bytes"] == 6000 and rows["/chunked"]["x_cache"] == "MISS"
    assert rows["/close"]["response_bytes"] == 3
    assert rows["/big?n=300000"]["response_bytes"] == 300000
    assert rows["/status/404"]["status"] == 404
    assert server.stats()["seen"]["GET /close"] == 20


@pytest.mark.parametrize("engine", ENGINES)
def test_records_freshness_headers_digest_named_headers_and_recorded_time(
    server: Uvicorn, tmp_path: Path, engine: str
) -> None:
    recs = records(["/hit/1", "/chunked", "/status/404"])
    _, rows = run(
        tmp_path, recs, server.url, engine=engine, capture_headers=("x-served-by", "x-absent")
    )
    hit = rows["/hit/1"]
    assert hit["cache_control"] == "public, max-age=60, s-maxage=30"
    assert hit["expires"] == "Thu, 01 Dec 2026 16:00:00 GMT"  # one value, commas and all
    assert hit["date"] is not None and "," not in hit["date"][5:]  # uvicorn's own Date
    assert (hit["etag"], hit["last_modified"]) == ('"v1"', "Wed, 30 Nov 2026 10:00:00 GMT")
    assert hit["headers"] == [("x-served-by", "cache-a, cache-b")]
    assert hit["body_digest"] == zlib.crc32(b"hello")
    assert rows["/chunked"]["headers"] is None and rows["/chunked"]["cache_control"] is None
    assert rows["/chunked"]["body_digest"] == zlib.crc32(b"a" * 1000 + b"b" * 2000 + b"c" * 3000)
    assert [rows[r.target]["recorded_s"] for r in recs] == [r.ts for r in recs]


def test_head_requests_do_not_wait_for_a_body(server: Uvicorn, tmp_path: Path) -> None:
    recs = records(["/hit/h"] * 5, method="HEAD") + records(["/hit/g"])
    summary, rows = run(tmp_path, recs, server.url, concurrency=1, timeout_s=3.0)
    assert summary.errors == {} and summary.status_classes == {"2xx": 6}
    assert rows["/hit/h"]["response_bytes"] == 0 and rows["/hit/g"]["response_bytes"] == 5


@pytest.mark.parametrize("engine", ENGINES)
def test_redirects_are_never_followed(server: Uvicorn, tmp_path: Path, engine: str) -> None:
    other = Uvicorn()
    try:
        away = f"/redirect-other?to={other.url}/hit/stolen"
        _, rows = run(tmp_path, records(["/redirect-same", away]), server.url, engine=engine)
        assert rows["/redirect-same"]["status"] == 302 and rows[away]["status"] == 301
        assert "GET /hit/stolen" not in other.stats()["seen"]
        assert "GET /hit/redirected" not in server.stats()["seen"]
    finally:
        other.stop()


def test_headers_added_dropped_and_host_from_target(server: Uvicorn, tmp_path: Path) -> None:
    recs = [
        records(["/hit/x"])[0].__class__(
            ts=0.0, method="GET", target="/hit/x", key="k", host="www.prod.example",
            headers={"x-trace": "1", "accept-language": "de"},
        )
    ]  # fmt: skip
    run(tmp_path, recs, server.url, headers=("X-Warm: yes",), drop_headers=("x-trace",))
    stats = server.stats()
    assert stats["hosts"][-1] == f"127.0.0.1:{server.port}"
    seen = stats["last_headers"]
    assert seen["x-warm"] == "yes" and seen["accept-language"] == "de" and "x-trace" not in seen
    run(tmp_path, recs, server.url, preserve_host=True)
    assert server.stats()["hosts"][-1] == "www.prod.example"


def test_skipped_methods_are_counted_not_sent(server: Uvicorn, tmp_path: Path) -> None:
    recs = records(["/hit/a"]) + records(["/hit/p"], method="POST")
    summary, _ = run(tmp_path, recs, server.url)
    assert summary.sent == 1 and summary.skipped == {"method": 1}
    assert "POST /hit/p" not in server.stats()["seen"]
    summary, _ = run(tmp_path, recs, server.url, allow_methods=("GET", "POST"))
    assert summary.sent == 2 and server.stats()["seen"]["POST /hit/p"] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_tls_target(
    tls_server: Uvicorn, cert: tuple[str, str], tmp_path: Path, engine: str
) -> None:
    summary, rows = run(
        tmp_path, records(["/hit/1", "/chunked"] * 5), tls_server.url, engine=engine,
        ca_file=cert[0],
    )  # fmt: skip
    assert summary.status_classes == {"2xx": 10}
    assert rows["/chunked"]["response_bytes"] == 6000


def test_tls_untrusted_certificate_is_a_tls_error(tls_server: Uvicorn, tmp_path: Path) -> None:
    summary, _ = run(tmp_path, records(["/hit/1"]), tls_server.url, retries=0)
    assert summary.errors == {"tls": 1}
    summary, _ = run(tmp_path, records(["/hit/1"]), tls_server.url, verify_tls=False)
    assert summary.status_classes == {"2xx": 1}


@pytest.mark.parametrize("engine", ENGINES)
def test_unix_socket_target(unix_server: Uvicorn, tmp_path: Path, engine: str) -> None:
    summary, rows = run(
        tmp_path, records(["/hit/u", "/chunked"] * 3), unix_server.url, engine=engine
    )
    assert summary.status_classes == {"2xx": 6}
    assert rows["/hit/u"]["x_cache"] == "HIT"


def test_nginx_keep_alive_and_chunked(nginx: Nginx, tmp_path: Path) -> None:
    summary, rows = run(tmp_path, records(["/a", "/chunk"] * 500), nginx.url, concurrency=8)
    assert summary.status_classes == {"2xx": 1000} and summary.errors == {}
    assert rows["/a"]["x_cache"] == "HIT" and rows["/a"]["age"] == "3"
    assert rows["/a"]["response_bytes"] == 5
    assert rows["/chunk"]["cache_status"] == "nginx; hit"


def test_rate_pacing_sends_the_right_count_with_schedules(server: Uvicorn, tmp_path: Path) -> None:
    summary, _ = run(
        tmp_path, records([f"/hit/{i}" for i in range(200)]), server.url, pacing="rate", rate=400.0
    )
    assert summary.sent == 200 and summary.errors == {}
    table = open_results(tmp_path / "results.parquet").to_table().to_pylist()
    scheduled = sorted(row["scheduled_s"] for row in table)
    assert scheduled[-1] - scheduled[0] == pytest.approx(199 / 400.0)
    assert all(row["latency_from_schedule_ms"] is not None for row in table)
    assert summary.latency_from_schedule_ms and summary.send_lag_ms


def test_duration_and_limit_bound_the_run(server: Uvicorn, tmp_path: Path) -> None:
    recs = records([f"/hit/{i}" for i in range(1000)])
    summary, _ = run(tmp_path, recs, server.url, pacing="rate", rate=100.0, duration_s=0.5)
    assert 0 < summary.sent <= 51
    summary, _ = run(tmp_path, recs, server.url, limit=7)
    assert summary.sent == 7


def test_two_phases_share_one_results_file(server: Uvicorn, tmp_path: Path) -> None:
    out = tmp_path / "both.parquet"
    plan = ReplayPlan(target=server.url)
    with ResultsWriter(out) as writer:
        replay(records(["/hit/a"] * 3), plan, writer, phase="warm")
        replay(records(["/hit/b"] * 2), plan, writer, phase="verify")
    results = open_results(out)
    phases = [row["phase"] for row in results.to_table(["phase"]).to_pylist()]
    assert phases == ["warm"] * 3 + ["verify"] * 2
    assert [run["phase"] for run in results.meta["runs"]] == ["warm", "verify"]


@pytest.mark.parametrize("engine", ENGINES)
def test_ipv6_loopback_target(tmp_path: Path, engine: str) -> None:
    app = Uvicorn(host="::1")
    try:
        summary, rows = run(tmp_path, records(["/hit/6"] * 3), app.url, engine=engine)
    finally:
        app.stop()
    assert app.url.startswith("http://[::1]:")
    assert summary.status_classes == {"2xx": 3} and rows["/hit/6"]["x_cache"] == "HIT"
