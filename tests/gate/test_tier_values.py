"""String and boolean metrics through evidence.json, rejudge and every report format."""

from __future__ import annotations

import json
from pathlib import Path

from warmer.gate.diagnose import Evidence
from warmer.gate.rejudge import rejudge
from warmer.gate.rundir import RunDir, evidence_document, evidence_from_document
from warmer.model.run import (
    CheckResult,
    DriftReport,
    DriftRow,
    RunReport,
    TierConfiguration,
)
from warmer.report import load_report, write_reports

METRICS = {
    "l2.config.maxmemory_policy": "noeviction",
    "l2.config.cluster_enabled": False,
    "l2.config.maxmemory": 10.0 * 1024**2,
    "l2.config.maxmemory_samples": None,
    "l2.ttl.p50_s": 30.0,
    "drift.failures": 2.0,
}


def _run(path: Path) -> RunDir:
    report = RunReport(
        run_id="r1",
        verdict="fail",
        exit_code=1,
        checks=(
            CheckResult(
                'l2.config.maxmemory_policy == "allkeys-lru"',
                "l2.config.maxmemory_policy",
                "==",
                "allkeys-lru",
                "noeviction",
                "fail",
            ),
        ),
        tier_config=(
            TierConfiguration(
                "l2",
                "redis",
                "redis://127.0.0.1:1/0",
                values={
                    "config.maxmemory_policy": "noeviction",
                    "config.cluster_enabled": False,
                    "config.maxmemory_samples": None,
                    "ttl.p50_s": 30.0,
                },
                no_data={"maxmemory_samples": "CONFIG GET is renamed <b>"},
                sampled_keys=12,
            ),
        ),
        drift=DriftReport(
            rows=(DriftRow("l2", "config.maxmemory_policy", "allkeys-lru", "noeviction", "drift"),),
            failures=1,
        ),
        config={"gate": {"checks": ['l2.config.maxmemory_policy == "allkeys-lru"']}},
    )
    write_reports(report, path, ["json"])
    run_dir = RunDir(path)
    run_dir.write_json(run_dir.evidence, evidence_document(Evidence(METRICS, tiers=("l2",))))
    return run_dir


def test_evidence_keeps_strings_and_booleans(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    back = evidence_from_document(run_dir.read_json(run_dir.evidence))
    assert dict(back.metrics) == METRICS
    assert back.metrics["l2.config.cluster_enabled"] is False


def test_report_json_round_trips_string_thresholds_and_tier_tables(tmp_path: Path) -> None:
    _run(tmp_path)
    report = load_report(tmp_path)
    check = report.checks[0]
    assert (check.threshold, check.observed) == ("allkeys-lru", "noeviction")
    assert report.tier_config[0].values["config.cluster_enabled"] is False
    assert report.tier_config[0].values["ttl.p50_s"] == 30.0
    assert report.drift is not None and report.drift.failures == 1


def test_rejudge_reads_string_and_boolean_metrics(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    judged = rejudge(
        run_dir.path,
        [
            'l2.config.maxmemory_policy == "noeviction"',
            "l2.config.cluster_enabled == false",
            "l2.config.maxmemory >= 4GB",
            "l2.config.maxmemory_samples >= 5",
            "drift.failures == 0",
        ],
        formats=["json", "md", "html", "junit"],
    )
    statuses = [(o.status, o.value) for o in judged.outcomes]
    assert statuses[:5] == [
        ("pass", "noeviction"),
        ("pass", False),
        ("fail", 10.0 * 1024**2),
        ("no_data", None),
        ("fail", 2.0),
    ]
    saved = json.loads((run_dir.path / "report.json").read_text())
    assert saved["checks"][0]["observed"] == "noeviction"
    assert saved["checks"][1]["threshold"] is False
    markdown = (run_dir.path / "report.md").read_text()
    assert "### Tier configuration" in markdown and "### Drift from the baseline" in markdown
    assert "no data: CONFIG GET is renamed &lt;b>" in markdown
    html = (run_dir.path / "report.html").read_text()
    assert "Tier configuration" in html and "<b>" not in html
    assert '"noeviction"' in (run_dir.path / "junit.xml").read_text().replace("&quot;", '"')
