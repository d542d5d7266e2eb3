"""The bundled samples: deterministic generation and three encodings that agree exactly."""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from warmer.model.sample import SampleRecord
from warmer.sample.keys import make_key_function
from warmer.sample.store import open_sample

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "traffic_samples"
HAR_REQUESTS = 15_000

LOG_LINE = re.compile(
    r'(?P<addr>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<target>\S+) '
    r'(?P<proto>[^"]+)" (?P<status>\d+) (?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<ua>[^"]*)" '
    r"(?P<rt>[\d.]+) (?P<cache>\S+)$"
)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_samples", ROOT / "scripts" / "generate_samples.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_samples"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def truth() -> list[SampleRecord]:
    return list(open_sample(SAMPLES / "demo.jsonl.gz").iter_records())


def test_same_seed_same_bytes(generator: ModuleType, tmp_path: Path) -> None:
    profile = generator.Profile(seed=7, requests=3000)
    generator.write_all(profile, tmp_path / "a", 500)
    generator.write_all(profile, tmp_path / "b", 500)
    for name in ("demo.jsonl.gz", "demo-access.log.gz", "demo.har.gz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    generator.write_all(generator.Profile(seed=8, requests=3000), tmp_path / "c", 500)
    assert (tmp_path / "a" / "demo.jsonl.gz").read_bytes() != (
        tmp_path / "c" / "demo.jsonl.gz"
    ).read_bytes()


def test_bundled_files_are_what_the_generator_makes(generator: ModuleType, tmp_path: Path) -> None:
    # Regenerating with the documented defaults must give the committed bytes.
    generator.main(["--out-dir", str(tmp_path)])
    for name in ("demo.jsonl.gz", "demo-access.log.gz", "demo.har.gz"):
        committed = hashlib.sha256((SAMPLES / name).read_bytes()).hexdigest()
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == committed, name


def test_repository_stays_small() -> None:
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 4_000_000


def test_canonical_sample_meta_and_keys(truth: list[SampleRecord]) -> None:
    reader = open_sample(SAMPLES / "demo.jsonl.gz")
    assert reader.meta.requests == len(truth) == 55_000
    assert reader.meta.key_config["ignore_params"][0] == "utm_*"
    assert reader.meta.sources[0]["seed"] == 42
    key = make_key_function()
    assert all(r.key == key(r.method, r.target, r.headers) for r in truth[:5000])
    assert [r.ts for r in truth] == sorted(r.ts for r in truth)


def test_canonical_sample_has_the_documented_variety(truth: list[SampleRecord]) -> None:
    methods = {r.method for r in truth}
    assert methods == {"GET", "HEAD", "POST"}
    assert {r.cache_status for r in truth} == {"HIT", "MISS", "EXPIRED", "BYPASS", None}
    searches = [r for r in truth if r.target.startswith("/search?")]
    assert any(r.target.startswith("/search?page=") for r in searches)
    assert any(r.target.startswith("/search?q=") for r in searches)
    assert any("utm_source=" in r.target and "utm_" not in r.key for r in searches)
    assert sum("token=tk_" in r.target for r in truth) > 100
    assert all(r.body for r in truth if r.method == "POST")
    assert all(r.response_bytes == 0 for r in truth if r.method == "HEAD")


def _log_lines() -> Iterator[str]:
    with gzip.open(SAMPLES / "demo-access.log.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            yield line.rstrip("\n")


def test_access_log_agrees_with_truth(truth: list[SampleRecord]) -> None:
    lines = list(_log_lines())
    assert len(lines) == len(truth)
    for line, record in zip(lines, truth, strict=True):
        m = LOG_LINE.match(line)
        assert m, line
        when = datetime.strptime(m["time"], "%d/%b/%Y:%H:%M:%S %z")
        assert m["time"].endswith("+0100")
        assert when.timestamp() == int(record.ts)
        assert (m["method"], m["target"]) == (record.method, record.target)
        assert int(m["status"]) == record.status
        assert int(m["bytes"]) == record.response_bytes
        assert round(float(m["rt"]) * 1000) == record.duration_ms
        assert (None if m["cache"] == "-" else m["cache"]) == record.cache_status
        assert m["ua"] == record.headers["user-agent"]
        assert (None if m["referer"] == "-" else m["referer"]) == record.headers.get("referer")
        assert hashlib.sha256(m["addr"].encode()).hexdigest()[:16] == record.client


def _har_entries() -> list[dict[str, Any]]:
    with gzip.open(SAMPLES / "demo.har.gz", "rt", encoding="utf-8") as fh:
        har = json.load(fh)
    assert har["log"]["version"] == "1.2"
    entries: list[dict[str, Any]] = har["log"]["entries"]
    return entries


def test_har_agrees_with_truth(truth: list[SampleRecord]) -> None:
    entries = _har_entries()
    assert len(entries) == HAR_REQUESTS
    for entry, record in zip(entries, truth[:HAR_REQUESTS], strict=True):
        request, response = entry["request"], entry["response"]
        started = datetime.fromisoformat(entry["startedDateTime"])
        assert entry["startedDateTime"].endswith("+01:00")
        assert round(started.timestamp() * 1000) == round(record.ts * 1000)
        assert request["method"] == record.method
        assert request["url"] == f"https://shop.example{record.target}"
        assert response["status"] == record.status
        assert response["bodySize"] == record.response_bytes == response["content"]["size"]
        assert entry["time"] == record.duration_ms
        headers = {h["name"].lower(): h["value"] for h in request["headers"]}
        assert headers["user-agent"] == record.headers["user-agent"]
        cache = {h["name"]: h["value"] for h in response["headers"]}.get("X-Cache-Status")
        assert cache == record.cache_status
        if record.body is not None:
            assert request["postData"]["text"].encode() == base64.b64decode(record.body)


def test_har_carries_fake_secrets_the_truth_does_not() -> None:
    entries = _har_entries()
    names = [{h["name"] for h in e["request"]["headers"]} for e in entries]
    assert sum("Cookie" in n for n in names) > 500
    assert sum("Authorization" in n for n in names) > 500
    truth_head = list(open_sample(SAMPLES / "demo.jsonl.gz").iter_records())[:HAR_REQUESTS]
    assert not any({"cookie", "authorization"} & set(r.headers) for r in truth_head)
