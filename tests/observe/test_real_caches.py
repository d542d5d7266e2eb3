"""`warmer gate` against Debian's nginx (proxy_cache) and Varnish in front of a real origin.

Each configuration is one thing that goes wrong in production; the gate must give the
right verdict **and** a diagnosis naming the true cause, from headers the caches send on
their own (no ``stored``, no ``ttl``): nginx's ``$upstream_cache_status`` in
``X-Cache-Status``, Varnish's ``X-Varnish`` and ``Age``. The origin sends
``Cache-Control: max-age`` and counts what reaches it (``[backend]``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import run_warmer
from tests.conftest import require
from tests.observe.real_caches import NginxCache, Origin, VarnishCache, varnishd, zipf_sample

pytestmark = pytest.mark.slow

HIT_RATE = "hit_rate.edge >= 0.8"
OFFLOAD = "backend.offload >= 0.8"
RECORDED = "hit_rate.edge.recorded_pace >= 0.7"


@dataclass(frozen=True)
class Case:
    """One cache configuration and what the gate must say about it."""

    name: str
    max_age: int
    size: str
    """nginx keys_zone / Varnish malloc storage."""
    grace: str = "0s"
    checks: tuple[str, ...] = (HIT_RATE, OFFLOAD)
    exit_code: int = 0
    failing: dict[str, str] | None = None
    """Failing check → diagnosis id it must carry."""
    says: tuple[str, ...] = ()
    """Words the failing checks' diagnoses hold."""
    warns: str | None = None


HEALTHY = Case("healthy", 86400, "")
UNDERSIZED = Case(
    "undersized", 86400, "small", exit_code=1,
    failing={HIT_RATE: "capacity", OFFLOAD: "capacity"}, says=("evicted", "it held about"),
)  # fmt: skip
SHORT_TTL = Case(
    "short-ttl", 1, "", exit_code=1,
    failing={HIT_RATE: "ttl", OFFLOAD: "ttl"}, says=("expired",),
    warns="too fast for the TTLs to show",  # at the recorded pace nothing would hit
)  # fmt: skip
GRACE = Case(
    "grace", 1, "", grace="1h", checks=(HIT_RATE, OFFLOAD, "edge.stale_rate <= 0.05"),
    exit_code=1, failing={OFFLOAD: "stale-hits", "edge.stale_rate <= 0.05": "stale-hits"},
    says=("stale",), warns="too fast for the TTLs to show",
)  # fmt: skip
RECORDED_GAPS = Case(
    "recorded-gaps", 60, "", checks=(HIT_RATE, RECORDED), exit_code=1,
    failing={RECORDED: "ttl-recorded-pace"}, says=("recorded pace",),
    warns="too fast for the TTLs to show",
)  # fmt: skip

SIZES = {"nginx": {"": "10m", "small": "32k"}, "varnish": {"": "256m", "small": "1m"}}
HELD = {"nginx": (100, 300), "varnish": (64, 200)}
"""Keys a small cache holds: 32k of keys_zone took 100-200 keys when probed by hand,
1m of malloc holds about 128 bodies of 8 KB."""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zipf_sample(tmp_path_factory.mktemp("sample") / "zipf.jsonl")


@pytest.fixture
def origin_for() -> Iterator[Any]:
    started: list[Any] = []

    def make(kind: str, case: Case, root: Path) -> tuple[Origin, str]:
        origin = Origin(case.max_age, body_bytes=8192)  # 1m of Varnish holds ~100
        started.append(origin)
        size = SIZES[kind][case.size]
        if kind == "nginx":
            cache: Any = NginxCache(root / "nginx", origin, zone=size)
        else:
            cache = VarnishCache(root / "varnish", origin, storage=size, grace=case.grace)
        started.append(cache)
        return origin, cache.url

    yield make
    for server in reversed(started):
        server.stop()


def gate(kind: str, case: Case, url: str, origin: Origin, sample: Path, root: Path) -> Any:
    config = root / "warmer.toml"
    checks = ", ".join(json.dumps(c) for c in case.checks)
    config.write_text(
        f"""
[replay]
pacing = "rate"
rate = 1000
concurrency = 8
[gate]
settle_s = 1.5
checks = [{checks}]
[observe]
interval_s = 0.5
[tiers.edge]
source = "header"
preset = "{kind}"
[backend]
source = "prometheus"
url = "{origin.metrics_url}"
requests = "origin_requests_total"
"""
    )
    run_dir = root / "run"
    done = run_warmer(
        "--config", str(config), "gate", "--target", url, "--sample", str(sample),
        "--run-dir", str(run_dir), cwd=root,
    )  # fmt: skip
    report = json.loads((run_dir / "report.json").read_text())
    return done, report


def _judge(case: Case, done: Any, report: dict[str, Any]) -> None:
    context = f"{done.stderr[-2000:]}\n{json.dumps(report['phases'][-1]['tiers'], indent=1)}"
    assert done.returncode == case.exit_code, context
    by_check = {c["expression"]: c for c in report["checks"]}
    failing = {e for e, c in by_check.items() if c["outcome"] != "pass"}
    assert failing == set(case.failing or {}), context
    for expression, kind in (case.failing or {}).items():
        check = by_check[expression]
        assert check["diagnosis_id"] == kind, (check, context)
        assert any(word in check["diagnosis"] for word in case.says), (check, context)
        assert "warm longer" not in check["diagnosis"]
    warnings = " ".join(report["warnings"])
    if case.warns:
        assert case.warns in warnings, report["warnings"]
    else:
        assert "too fast for the TTLs" not in warnings, report["warnings"]


def _nginx() -> None:
    require("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None, "nginx")


@pytest.mark.parametrize("case", [HEALTHY, UNDERSIZED, SHORT_TTL, RECORDED_GAPS], ids=str)
def test_nginx_proxy_cache(case: Case, origin_for: Any, sample: Path, tmp_path: Path) -> None:
    _nginx()
    origin, url = origin_for("nginx", case, tmp_path)
    done, report = gate("nginx", case, url, origin, sample, tmp_path)
    _judge(case, done, report)
    _held("nginx", case, report)


@pytest.mark.parametrize("case", [HEALTHY, UNDERSIZED, SHORT_TTL, GRACE, RECORDED_GAPS], ids=str)
def test_varnish(case: Case, origin_for: Any, sample: Path, tmp_path: Path) -> None:
    require(varnishd(), "varnishd")
    origin, url = origin_for("varnish", case, tmp_path)
    done, report = gate("varnish", case, url, origin, sample, tmp_path)
    _judge(case, done, report)
    _held("varnish", case, report)


def _held(kind: str, case: Case, report: dict[str, Any]) -> None:
    if case is not UNDERSIZED:
        return
    (edge,) = report["phases"][-1]["tiers"]
    low, high = HELD[kind]
    assert low <= edge["keys_held"] <= high, edge
