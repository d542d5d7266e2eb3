"""Tests for the run directory: masked config, sample slice, evidence round trip, rejudge."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from warmer.config import config_from_tree
from warmer.errors import ConfigError, InputError
from warmer.gate.diagnose import Evidence
from warmer.gate.rejudge import rejudge
from warmer.gate.rundir import (
    SLICE_COPY_MAX_ROWS,
    RunDir,
    config_document,
    evidence_document,
    evidence_from_document,
    new_run_id,
    write_sample,
)
from warmer.model.run import (
    Ceilings,
    CheckResult,
    CurvePoint,
    MrcPoint,
    PhaseReport,
    Predictions,
    RunReport,
    TierCurve,
    TierForecast,
    TierMetrics,
    Timelines,
    mask_url,
)
from warmer.report import load_report, write_reports


def test_config_document_masks_secrets() -> None:
    config = config_from_tree(
        {
            "replay": {"headers": {"Authorization": "Bearer s3cret"}},
            "tiers": {"l1": {"source": "redis", "url": "redis://app:hunter2@10.0.0.1:6379/0"}},
        }
    )
    text = json.dumps(config_document(config, ["errors.rate < 0.01"]))
    assert "hunter2" not in text and "s3cret" not in text
    assert "redis://app:***@10.0.0.1:6379/0" in text
    assert json.loads(text)["gate"]["checks"] == ["errors.rate < 0.01"]


def test_config_document_masks_every_injected_header_and_url_credential() -> None:
    config = config_from_tree(
        {
            "replay": {
                "target": "http://deploy:tok1@candidate:8080/?auth=tok2",
                "headers": {"X-Candidate-Key": "key3", "X-Auth": "tok4", "Accept": "x/y"},
            },
            "tiers": {
                "l1": {"source": "redis", "url": "unix:///run/l1.sock?db=0&password=pw5"},
                "l2": {
                    "source": "redis",
                    "url": "rediss://warmer:p%23w6@cache:6380/0",
                },  # "#" encoded: a raw one is a config error
                "l3": {"source": "redis", "url": "redis://:pw7@cache:6379/1"},
            },
            "backend": {
                "source": "prometheus",
                "url": "http://candidate:9100/metrics?api_key=tok8",
                "requests": "origin_total",
            },
        }
    )
    document = config_document(config, [])
    text = json.dumps(document)
    for secret in ("tok1", "tok2", "key3", "tok4", "pw5", "p%23w6", "w6", "pw7", "tok8"):
        assert secret not in text, secret
    assert document["replay"]["headers"] == {
        "X-Candidate-Key": "***",
        "X-Auth": "***",
        "Accept": "***",
    }
    assert document["tiers"]["l1"]["url"] == "unix:///run/l1.sock?db=0&password=***"
    assert document["tiers"]["l2"]["url"] == "rediss://warmer:***@cache:6380/0"
    assert document["tiers"]["l3"]["url"] == "redis://:***@cache:6379/1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("http://prometheus:9090", "http://prometheus:9090"),
        ("hit_rate.l0 >= 0.85", "hit_rate.l0 >= 0.85"),
        ("redis://u:a/b?c@cache/0", "redis://u:***@cache/0"),
        ("http://h/m?x=1&token=t&y=2", "http://h/m?x=1&token=***&y=2"),
    ],
)
def test_mask_url_on_raw_text(text: str, expected: str) -> None:
    assert mask_url(text) == expected


def test_run_ids_sort_by_time_and_differ() -> None:
    first, second = new_run_id(0.0), new_run_id(0.0)
    assert first.startswith("19700101-000000-") and first != second
    assert new_run_id(100.0) > new_run_id(0.0)


def _part(n: int, start: float) -> pa.Table:
    return pa.table({"ts": [start + i for i in range(n)], "key": [f"k{i}" for i in range(n)]})


def test_sample_slice_copied_when_small(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path / "run").create()
    sample = tmp_path / "s.jsonl"
    sample.write_text("x")
    reference = write_sample(run_dir, sample, _part(3, 0), _part(2, 10), 10.0)
    assert reference["copied"] is True
    table = pq.read_table(run_dir.sample_slice)
    assert table.column("phase").to_pylist() == ["warm"] * 3 + ["verify"] * 2
    saved = json.loads(run_dir.sample_ref.read_text())
    assert (saved["warm_rows"], saved["verify_rows"], saved["verify_from_ts"]) == (3, 2, 10.0)
    assert saved["path"] == str(sample.resolve()) and saved["bytes"] == 1


def test_big_sample_is_referenced_not_copied(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path / "run").create()
    big = _part(SLICE_COPY_MAX_ROWS, 0)
    reference = write_sample(run_dir, tmp_path / "gone.jsonl", big, _part(1, 1e9), None)
    assert reference["copied"] is False and reference["bytes"] is None
    assert not run_dir.sample_slice.exists()


def test_evidence_round_trip_and_garbage(tmp_path: Path) -> None:
    evidence = Evidence(
        metrics={"hit_rate.l0": 0.5, "l0.keys": None},
        tiers=("l0",),
        missing={"l1": "down"},
        backend_gap=0.2,
        tolerance=0.1,
        error_kinds={"timeout": 2},
    )
    run_dir = RunDir(tmp_path).create()
    run_dir.write_json(run_dir.evidence, evidence_document(evidence))
    assert evidence_from_document(run_dir.read_json(run_dir.evidence)) == evidence
    with pytest.raises(InputError):
        evidence_from_document({"metrics": 3})
    with pytest.raises(InputError, match="does not exist"):
        run_dir.read_json(tmp_path / "nope.json")


def _finished_run(path: Path) -> RunDir:
    warm = PhaseReport(name="warm", requests=100, started_s=0.0, duration_s=10.0)
    verify = PhaseReport(
        name="verify",
        requests=20,
        started_s=12.0,
        tiers=(TierMetrics("l0", "cache-status", hit_rate=0.8),),
        error_rate=0.0,
    )
    curve = TierCurve("l0", tuple(CurvePoint(10 * i, float(i), i / 10) for i in range(1, 11)))
    report = RunReport(
        run_id="r1",
        verdict="pass",
        exit_code=0,
        phases=(warm, verify),
        timelines=Timelines(warmup=(curve,)),
        checks=(CheckResult("hit_rate.l0 >= 0.5", "hit_rate.l0", ">=", 0.5, 0.8, "pass"),),
    )
    run_dir = RunDir(path)
    write_reports(report, path, ["json"])
    evidence = Evidence({"hit_rate.l0": 0.8, "errors.rate": 0.0}, tiers=("l0",))
    run_dir.write_json(run_dir.evidence, evidence_document(evidence))
    return run_dir


def test_rejudge_recorded_and_new_checks(tmp_path: Path) -> None:
    run_dir = _finished_run(tmp_path / "run")
    same = rejudge(run_dir.path, formats=["json", "junit"])
    assert same.report.verdict == "pass" and same.report.exit_code == 0
    assert [o.check.text for o in same.outcomes] == ["hit_rate.l0 >= 0.5"]
    assert (run_dir.path / "junit.xml").exists()
    stricter = rejudge(run_dir.path, ["hit_rate.l0 >= 0.9"], extra=["warm.requests_to_target < 50"])
    assert stricter.report.verdict == "fail" and stricter.report.exit_code == 1
    statuses = [(o.status, o.value) for o in stricter.outcomes]
    assert statuses == [("fail", 0.8), ("fail", 90.0)]  # 0.9 first reached at 90
    # warm.requests_to_target reads the warmup curve for the new hit-rate threshold:
    target = rejudge(run_dir.path, ["hit_rate.l0 >= 0.5", "warm.requests_to_target <= 50"])
    assert [(o.status, o.value) for o in target.outcomes][1] == ("pass", 50.0)
    assert target.report.warnings[-1].startswith("re-judged")
    assert json.loads((run_dir.path / "report.json").read_text())["checks"][1]["observed"] == 50


def test_rejudge_validates_checks_against_recorded_tiers(tmp_path: Path) -> None:
    run_dir = _finished_run(tmp_path / "run")
    with pytest.raises(ConfigError, match="tier 'l9'"):
        rejudge(run_dir.path, ["hit_rate.l9 > 0.1"])
    with pytest.raises(InputError):
        rejudge(tmp_path / "missing")


def test_rejudge_sizes_a_tier_for_the_new_threshold(tmp_path: Path) -> None:
    """The keys a tier needs come from the report's curve for the threshold judged now."""
    run_dir = _finished_run(tmp_path / "run")
    report = load_report(run_dir.path)
    curve = tuple(MrcPoint(k, 1 - k / 2000) for k in (100, 500, 1000, 1500))  # hit = k/2000
    report = dataclasses.replace(
        report,
        ceilings=Ceilings(miss_ratio_curve=curve),
        predictions=Predictions(tiers=(TierForecast("l0", 200.0, None, "configured"),)),
    )
    write_reports(report, run_dir.path, ["json"])
    evidence = Evidence(
        {"hit_rate.l0": 0.1, "capacity.l0.keys": 200.0, "capacity.l0.needed_keys": 1000.0},
        tiers=("l0",),
    )
    run_dir.write_json(run_dir.evidence, evidence_document(evidence))
    # Recorded with a 0.5 threshold (1 000 keys); judged again at 0.25: 500 keys.
    again = rejudge(run_dir.path, ["hit_rate.l0 >= 0.25"])
    assert again.outcomes[0].diagnosis == (
        "too small: L0 holds about 200 keys; this traffic needs about 500 for 25% (MRC): capacity"
    )
