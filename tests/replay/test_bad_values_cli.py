"""Regression fixtures of issue 10 through the real `warmer replay`: a non-base64 body is
a skipped record with its reason, never a traceback; options that cannot work are exit 2
before the target is even tried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import run_warmer
from tests.replay.conftest import Uvicorn
from warmer.replay import open_results


def test_a_body_that_is_not_base64_is_skipped_with_its_reason(
    server: Uvicorn, tmp_path: Path
) -> None:
    records = [
        {"ts": 1_700_000_000, "method": "POST", "target": "/a", "body": "!!not base64!!"},
        {"ts": 1_700_000_001, "method": "GET", "target": "/b"},
    ]
    sample = tmp_path / "s.jsonl"
    sample.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "r.parquet"
    result = run_warmer(
        "replay", str(sample), "--target", server.url, "--allow-method", "POST",
        "-o", str(out), "--no-progress", "--json", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["skipped"] == {"body": 1}
    rows = open_results(out).to_table().to_pylist()
    assert [r["target"] for r in rows if r.get("status")] == ["/b"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--timeout", "nan"),
        ("--rate", "nan"),
        ("--speed", "inf"),
        ("--concurrency", str(2**64)),
        ("--fail-share", "-1"),
        ("--master-bind", "[::1"),
    ],
)
def test_bad_values_are_exit_2_before_the_target_is_tried(
    server: Uvicorn, tmp_path: Path, option: str, value: str
) -> None:
    sample = tmp_path / "s.jsonl"
    sample.write_text(json.dumps({"ts": 1_700_000_000, "method": "GET", "target": "/a"}) + "\n")
    result = run_warmer(
        "replay", str(sample), "--target", server.url, option, value, "--no-progress",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert option in result.stderr and "Traceback" not in result.stderr
    assert server.stats()["seen"] in ({}, 0, [])
