"""The run report model: JSON round-trip, strict loading, masking and downsampling."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest

from warmer.model.run import (
    REPORT_SCHEMA_VERSION,
    CurvePoint,
    RunReport,
    downsample,
    downsample_indices,
    mask_secrets,
    mask_url,
)


def test_round_trip_through_json_is_equal(run: RunReport) -> None:
    data = json.loads(json.dumps(run.to_dict()))
    assert RunReport.from_dict(data) == run


def test_to_dict_keeps_field_order_and_version(run: RunReport) -> None:
    data = run.to_dict()
    assert list(data)[:4] == ["schema_version", "run_id", "verdict", "exit_code"]
    assert data["schema_version"] == REPORT_SCHEMA_VERSION


def test_points_are_compact_lists(run: RunReport) -> None:
    curve = run.to_dict()["timelines"]["warmup"][0]["points"]
    assert curve[5] == list(run.timelines.warmup[0].points[5])


def test_non_finite_floats_become_null(run: RunReport) -> None:
    odd = dataclasses.replace(run.checks[0], observed=math.inf)
    data = dataclasses.replace(run, checks=(odd,)).to_dict()
    assert data["checks"][0]["observed"] is None


def test_unknown_keys_are_ignored_for_additive_changes(run: RunReport) -> None:
    data = run.to_dict()
    data["added_in_a_later_v1"] = {"x": 1}
    data["plan"]["new_knob"] = 3
    assert RunReport.from_dict(data) == run


def _minimal() -> dict[str, Any]:
    return {"schema_version": 1, "run_id": "r", "verdict": "pass", "exit_code": 0}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 2}, "newer"),
        ({"schema_version": "1"}, "schema_version"),
        ({"run_id": None}, "run_id"),
        ({"verdict": "maybe"}, "verdict"),
        ({"exit_code": True}, "exit_code"),
        ({"checks": {"a": 1}}, "checks"),
        ({"checks": [{"expression": "x"}]}, "checks[0].metric: missing"),
        ({"phases": [{"name": "verify", "requests": "many"}]}, "phases[0].requests"),
        ({"timelines": {"warmup": [{"tier": "l0", "points": [[1, 2]]}]}}, "points[0]"),
        (
            {"phases": [{"name": "v", "latency": {"histogram": {"edges_ms": [1], "counts": [1]}}}]},
            "edges_ms",
        ),
    ],
)
def test_from_dict_rejects_bad_data_naming_the_field(change: dict[str, Any], message: str) -> None:
    data = {**_minimal(), **change}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        RunReport.from_dict(data)


def test_minimal_report_loads_with_defaults() -> None:
    report = RunReport.from_dict(_minimal())
    assert report.checks == () and report.verify is None and report.sample is None


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://:s3cret@127.0.0.1:6390", "redis://:***@127.0.0.1:6390"),
        ("rediss://default:p%40ss@cache.internal", "rediss://default:***@cache.internal"),
        ("http://prom:9090/api?token=abc&q=up", "http://prom:9090/api?token=***&q=up"),
        # userinfo without a colon is a token (http://${TOKEN}@host): masked whole
        ("http://user@host/", "http://***@host/"),
        ("http://s3cr3t-t0ken@host/metrics", "http://***@host/metrics"),
        ("redis://pw0rd@cache:6379", "redis://***@cache:6379"),
        ("http://u:@host/", "http://u:***@host/"),
        ("http://:only@host/", "http://:***@host/"),
        ("https://u:p@ss:w@host/", "https://u:***@host/"),
        ("http://u%40x:p%3Aw@host/", "http://u%40x:***@host/"),
        ("http://tok/en@host/", "http://***@host/"),
        ("http://a:b@[::1]:8080/m", "http://a:***@[::1]:8080/m"),
        ("unix://:pw@/run/redis.sock?db=0", "unix://:***@/run/redis.sock?db=0"),
        ("//u:pw@host/x", "//u:***@host/x"),
        ("http://h/m?session_id=s&jwt=j&q=up", "http://h/m?session_id=***&jwt=***&q=up"),
        ("redis://host:6379", "redis://host:6379"),
        ("unix:///tmp/redis.sock", "unix:///tmp/redis.sock"),
        ("unix:///tmp/redis.sock?db=0&password=pw", "unix:///tmp/redis.sock?db=0&password=***"),
        ("redis://u:p#w/x@cache:6379/0", "redis://u:***@cache:6379/0"),
        ("not a url", "not a url"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_mask_secrets_masks_keys_and_urls_recursively() -> None:
    config = {
        "tiers": {"l1": {"url": "redis://:pw@h:1"}},
        "replay": {"headers": {"Authorization": "Bearer x", "X-Env": "stage"}},
        "password": "",
        "list": ["http://a:b@c/"],
        "api_key": "k",
    }
    masked = mask_secrets(config)
    assert masked["tiers"]["l1"]["url"] == "redis://:***@h:1"
    assert masked["replay"]["headers"] == {"Authorization": "***", "X-Env": "stage"}
    assert masked["password"] == "" and masked["api_key"] == "***"
    assert masked["list"] == ["http://a:***@c/"]
    assert "pw" not in json.dumps(masked) and "Bearer" not in json.dumps(masked)


def test_downsample_keeps_short_series_and_endpoints() -> None:
    points = [(i, float(i)) for i in range(10)]
    assert downsample(points, 500) == points
    many = [(i, float(i % 7)) for i in range(10_000)]
    kept = downsample(many, 100)
    assert len(kept) == 100
    assert kept[0] == many[0] and kept[-1] == many[-1]
    assert [p[0] for p in kept] == sorted(p[0] for p in kept)


def test_downsample_keeps_a_lone_spike() -> None:
    points = [(i, 0.0) for i in range(100_000)]
    points[54_321] = (54_321, 100.0)
    assert (54_321, 100.0) in downsample(points, 50)


def test_downsample_accepts_curve_points_with_missing_values() -> None:
    points = [CurvePoint(i, i / 10, None if i < 5 else 0.5) for i in range(2_000)]
    kept = downsample(points, 20, x=0, y=2)
    assert len(kept) == 20 and all(isinstance(p, CurvePoint) for p in kept)


def test_downsample_indices_match_downsample_on_arrays() -> None:
    import numpy as np

    xs = np.arange(50_000, dtype=float)
    ys = np.sin(xs / 500) + (xs == 31_337) * 5
    ys[:10] = np.nan
    indices = downsample_indices(xs, ys, 200)
    points = [(float(x), None if np.isnan(y) else float(y)) for x, y in zip(xs, ys, strict=True)]
    assert [points[i] for i in indices] == downsample(points, 200)
    assert 31_337 in indices
    assert downsample_indices([1.0, 2.0], [3.0, 4.0], 10) == [0, 1]


def test_downsample_needs_room_for_endpoints() -> None:
    with pytest.raises(ValueError):
        downsample([(1, 1.0)] * 10, 2)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("GET /a?x=1", "GET /a?x=1"),
        ("café 日本", "café 日本"),
        ("a\x1b[31mred", "a\\x1b[31mred"),
        ("a\r\nFAKE", "a\\r\\nFAKE"),
        ("t\tab\x00\x7f\x9b", "t\\tab\\x00\\x7f\\x9b"),
        ("abc\u202edef\u2066", "abc\\u202edef\\u2066"),
        ("line\u2028sep", "line\\u2028sep"),
    ],
)
def test_printable_escapes_what_a_terminal_would_obey(text: str, shown: str) -> None:
    from warmer.model.text import printable

    assert printable(text) == shown
    assert printable("a\nb\x1b", keep_newlines=True) == "a\nb\\x1b"
