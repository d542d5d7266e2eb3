"""`warmer gate` end to end through the CLI: every exit code, dry run, rejudge, config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import run_warmer
from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.services import free_port
from warmer.model.sample import SampleMeta
from warmer.sample.store import SampleWriter, open_sample

DEMO_SAMPLE = Path(__file__).parents[2] / "traffic_samples" / "demo.jsonl.gz"


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 1,500 requests of the bundled demo sample."""
    path = tmp_path_factory.mktemp("sample") / "small.jsonl"
    table = open_sample(DEMO_SAMPLE).to_table().slice(0, 1500)
    writer = SampleWriter(path)
    writer.write_batch(table)
    writer.close(SampleMeta(requests=table.num_rows))
    return path


@pytest.fixture(scope="module")
def candidate() -> Iterator[CandidateServer]:
    """The reference candidate with only its L0 and a fast backend."""
    with CandidateServer(CandidateSettings(backend_latency_ms=2, backend_jitter_ms=1)) as server:
        yield server


warmer = run_warmer


def gate_args(candidate: CandidateServer, sample: Path, run_dir: Path, *checks: str) -> list[str]:
    args = ["gate", "--target", candidate.url, "--sample", str(sample), "--run-dir", str(run_dir)]
    args += ["--settle", "0.1"]
    for check in checks:
        args += ["--check", check]
    return args


def test_pass_exits_0_and_writes_the_run_directory(
    tmp_path: Path, candidate: CandidateServer, small_sample: Path
) -> None:
    run_dir = tmp_path / "run"
    checks = ("errors.rate < 5%", "latency.p99_ms < 10 s", "ceiling.hit_rate > 0.1")
    args = gate_args(candidate, small_sample, run_dir, *checks)
    args += ["--header", "Authorization: Bearer s3cret-token", "--timeout", "5"]
    result = warmer(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "verdict: PASS" in result.stderr
    config = (run_dir / "config.json").read_text()
    assert "s3cret-token" not in config and '"timeout_s": 5.0' in config
    assert f"report: {run_dir / 'report.html'}" in result.stderr
    assert result.stdout.strip() == str(run_dir)
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "sample.json", "sample.parquet", "results.parquet"} <= names
    assert {"timelines.json", "evidence.json", "report.json", "report.md"} <= names
    assert {"report.html", "junit.xml"} <= names
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "pass" and report["exit_code"] == 0
    # Three checks of the user's, then the two built-in skip checks.
    assert [c["outcome"] for c in report["checks"]] == ["pass"] * 5
    assert report["checks"][-1]["expression"] == "skipped.rate <= 5%"
    assert [p["name"] for p in report["phases"]] == ["warm", "verify"]
    # preflight, tiers, warm, settle, tiers-warm, verify, predict
    assert [s["status"] for s in report["steps"]] == ["ok"] * 7
    assert sum(p["requests"] for p in report["phases"]) > 1000


def test_failing_check_exits_1_and_no_data_fails(
    tmp_path: Path, candidate: CandidateServer, small_sample: Path
) -> None:
    run_dir = tmp_path / "run"
    checks = ("latency.max_ms < 0.001", "backend.offload >= 0.5", "errors.rate < 0.5")
    result = warmer(*gate_args(candidate, small_sample, run_dir, *checks), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "verdict: FAIL" in result.stderr
    assert "NO DATA backend.offload >= 0.5" in result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert [c["outcome"] for c in report["checks"]] == ["fail", "no_data", "pass", "pass", "pass"]
    assert report["checks"][1]["diagnosis"].startswith("no data:")
    junit = (run_dir / "junit.xml").read_text()
    assert junit.count("<testcase") == 5


def test_no_data_pass_policy_exits_0(
    tmp_path: Path, candidate: CandidateServer, small_sample: Path
) -> None:
    args = gate_args(candidate, small_sample, tmp_path / "run", "backend.offload >= 0.5")
    result = warmer(*args, "--no-data", "pass", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("hit_rate.l0 >= 0.85", "tier 'l0', which is not configured"),
        ("latency.p99 <= 40", "unknown metric 'latency.p99'"),
        ("errors.rate => 1", "unexpected character '='"),
    ],
)
def test_bad_check_exits_2_before_sending(
    tmp_path: Path, small_sample: Path, check: str, message: str
) -> None:
    # Nothing listens at the target: a run that sent anything would exit 3, not 2.
    target = f"http://127.0.0.1:{free_port()}"
    args = ["gate", "--target", target, "--sample", str(small_sample), "--check", check]
    result = warmer(*args, "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "^" in result.stderr
    assert not (tmp_path / "run").exists()


def test_bad_check_in_config_file_exits_2(tmp_path: Path, small_sample: Path) -> None:
    (tmp_path / "warmer.toml").write_text('[gate]\nchecks = ["hit_rate.effective >= 90"]\n')
    result = warmer("gate", "--dry-run", "--sample", str(small_sample), cwd=tmp_path)
    assert result.returncode == 2
    assert "gate.checks[0]: bad check: a ratio lies between 0 and 1" in result.stderr
    assert "Tip: write 90%" in result.stderr


def test_missing_sample_and_target_exit_2(tmp_path: Path, small_sample: Path) -> None:
    assert warmer("gate", "--target", "http://127.0.0.1:9", cwd=tmp_path).returncode == 2
    result = warmer("gate", "--sample", str(small_sample), cwd=tmp_path)
    assert result.returncode == 2
    assert "no target" in result.stderr


def test_unreachable_target_exits_3_with_an_error_report(
    tmp_path: Path, small_sample: Path
) -> None:
    target = f"http://127.0.0.1:{free_port()}"
    run_dir = tmp_path / "run"
    args = ["gate", "--target", target, "--sample", str(small_sample), "--run-dir", str(run_dir)]
    result = warmer(*args, "--check", "errors.rate < 0.01", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "cannot reach the target" in result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert (report["verdict"], report["exit_code"]) == ("error", 3)
    assert "cannot reach the target" in report["error"]
    assert not (run_dir / "results.parquet").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_exits_130_with_a_partial_report(
    tmp_path: Path, candidate: CandidateServer, small_sample: Path, signum: int
) -> None:
    run_dir = tmp_path / "run"
    args = gate_args(candidate, small_sample, run_dir, "errors.rate < 0.01")
    args += ["--pacing", "rate", "--rate", "50"]  # 30 s of warm traffic: time to interrupt
    process = subprocess.Popen(
        [sys.executable, "-m", "warmer", *args],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("warm: sending")
    time.sleep(1.0)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "verdict: INTERRUPTED" in stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert (report["verdict"], report["exit_code"], report["partial"]) == ("interrupted", 130, True)
    warm = report["phases"][0]
    assert warm["name"] == "warm" and 0 < warm["requests"] < 1500
    assert [p["name"] for p in report["phases"]] == ["warm"]


def test_dry_run_prints_the_plan_and_sends_nothing(tmp_path: Path, small_sample: Path) -> None:
    args = ["gate", "--dry-run", "--sample", str(small_sample), "--pacing", "rate", "--rate", "100"]
    result = warmer(*args, "--warm-fraction", "0.5", "--check", "errors.rate < 1%", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "split:    first 50% of the sample's time span" in out
    assert "pacing:   100 requests/s" in out
    assert "ceiling:  0." in out
    assert "check:    errors.rate < 1%" in out
    assert "warm:     " in out and "verify:   " in out
    assert not (tmp_path / "warmer-runs").exists()
    assert "warning" not in result.stderr


def test_dry_run_warns_about_a_threshold_above_the_warmable_ceiling(
    tmp_path: Path, small_sample: Path
) -> None:
    (tmp_path / "warmer.toml").write_text('[tiers.l0]\nsource = "cache-status"\ncache = "l0"\n')
    args = ["gate", "--dry-run", "--sample", str(small_sample)]
    result = warmer(*args, "--check", "hit_rate.l0 >= 99.9%", "--check", "hit_rate.l0 >= 1%",
                    cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert "hit_rate.l0 >= 99.9%" in warnings[0] and "warmable ceiling (0." in warnings[0]


def test_config_file_env_and_flag_precedence(tmp_path: Path, small_sample: Path) -> None:
    (tmp_path / "warmer.toml").write_text(
        f'[gate]\nsample = "{small_sample}"\nwarm_fraction = 0.5\n'
        '[replay]\npacing = "rate"\nrate = 10.0\n'
    )
    from_file = warmer("gate", "--dry-run", cwd=tmp_path)
    assert "first 50%" in from_file.stdout and "10 requests/s" in from_file.stdout
    from_env = warmer("gate", "--dry-run", cwd=tmp_path, env={"WARMER_GATE_RATE": "20"})
    assert "20 requests/s" in from_env.stdout
    capped = warmer("gate", "--dry-run", "--pacing", "recorded", "--max-gap", "0", cwd=tmp_path)
    assert "about 2.0s (settle 2s included)" in capped.stdout, capped.stdout
    from_flag = warmer(
        "gate", "--dry-run", "--rate", "30", cwd=tmp_path, env={"WARMER_GATE_RATE": "20"}
    )
    assert "30 requests/s" in from_flag.stdout


def test_rejudge_with_new_checks(
    tmp_path: Path, candidate: CandidateServer, small_sample: Path
) -> None:
    run_dir = tmp_path / "run"
    first = warmer(*gate_args(candidate, small_sample, run_dir, "errors.rate < 0.5"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    results_before = (run_dir / "results.parquet").stat().st_mtime_ns
    again = warmer(
        "gate", "--rejudge", str(run_dir), "--check", "latency.max_ms < 0.001", cwd=tmp_path
    )
    assert again.returncode == 1, again.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert [c["expression"] for c in report["checks"]] == [
        "errors.rate < 0.5",
        "latency.max_ms < 0.001",
        "warm.skipped.rate <= 5%",
        "skipped.rate <= 5%",
    ]
    assert [c["outcome"] for c in report["checks"]] == ["pass", "fail", "pass", "pass"]
    assert (run_dir / "results.parquet").stat().st_mtime_ns == results_before
    bad = warmer("gate", "--rejudge", str(run_dir), "--check", "nope > 1", cwd=tmp_path)
    assert bad.returncode == 2
    missing = warmer("gate", "--rejudge", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2


def test_github_step_summary_gets_the_markdown_verdict_appended(
    tmp_path: Path, candidate: CandidateServer, small_sample: Path
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## tests\n\nall green\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    run_dir = tmp_path / "run"
    args = gate_args(candidate, small_sample, run_dir, "errors.rate < 0.5")
    result = warmer(*args, "--report", "json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert not (run_dir / "report.md").exists()  # the summary does not need the md report
    text = summary.read_text()
    assert text.startswith("## tests\n\nall green\n## warmer gate: **PASS**")
    assert "errors.rate < 0.5" in text
    rejudged = warmer(
        "gate",
        "--rejudge",
        str(run_dir),
        "--check",
        "latency.max_ms < 0.001",
        cwd=tmp_path,
        env=env,
    )
    assert rejudged.returncode == 1, rejudged.stderr
    appended = summary.read_text()[len(text) :]
    assert appended.startswith("## warmer gate: **FAIL**")
    assert "latency.max_ms < 0.001" in appended


def test_unwritable_step_summary_warns_and_keeps_the_verdict(
    tmp_path: Path, candidate: CandidateServer, small_sample: Path
) -> None:
    env = {"GITHUB_STEP_SUMMARY": str(tmp_path)}  # a directory: cannot be appended to
    args = gate_args(candidate, small_sample, tmp_path / "run", "errors.rate < 0.5")
    result = warmer(*args, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert f"warning: cannot append to GITHUB_STEP_SUMMARY {tmp_path}" in result.stderr


def test_list_metrics(tmp_path: Path) -> None:
    result = warmer("gate", "--list-metrics", cwd=tmp_path)
    assert result.returncode == 0
    assert "hit_rate.<tier>" in result.stdout and "warm.seconds_to_target" in result.stdout


@pytest.mark.parametrize("required", [True, False])
def test_unreachable_observer(
    tmp_path: Path, candidate: CandidateServer, small_sample: Path, required: bool
) -> None:
    port = free_port()
    (tmp_path / "warmer.toml").write_text(
        "[tiers.l0]\nsource = 'cache-status'\ncache = 'l0'\n"
        f"[tiers.l1]\nsource = 'redis'\nurl = 'redis://app:pw@127.0.0.1:{port}/0'\n"
        f"required = {str(required).lower()}\n"
    )
    run_dir = tmp_path / "run"
    checks = ("hit_rate.l0 >= 0.1", "hit_rate.l1 >= 0.1")
    result = warmer(*gate_args(candidate, small_sample, run_dir, *checks), cwd=tmp_path)
    assert "pw@" not in result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert "pw@" not in (run_dir / "report.json").read_text()
    if required:
        assert result.returncode == 3, result.stderr
        assert "l1" in result.stderr and f"127.0.0.1:{port}" in result.stderr
        assert report["verdict"] == "error"
        return
    assert result.returncode == 1, result.stderr
    outcomes = {c["metric"]: c for c in report["checks"]}
    assert outcomes["hit_rate.l0"]["outcome"] == "pass"
    assert outcomes["hit_rate.l1"]["outcome"] == "no_data"
    assert f"127.0.0.1:{port}" in outcomes["hit_rate.l1"]["diagnosis"]


def test_protected_target_is_refused_before_sending(
    tmp_path: Path, candidate: CandidateServer, small_sample: Path
) -> None:
    (tmp_path / "warmer.toml").write_text("[safety]\nprotected_hosts = ['127.0.0.*']\n")
    run_dir = tmp_path / "run"
    result = warmer(*gate_args(candidate, small_sample, run_dir, "errors.rate < 1%"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "protected" in result.stderr
    assert not run_dir.exists()


def test_effective_config_applies_only_given_options() -> None:
    from warmer.cli.gate import effective_config
    from warmer.config import config_from_tree

    config = config_from_tree(
        {
            "replay": {"pacing": "rate", "rate": 5.0, "headers": {"X-A": "1"}},
            "gate": {"warm_duration_s": 30.0, "settle_s": 1.0, "checks": ["errors.rate < 1%"]},
        }
    )
    unchanged = effective_config(config, {"formats": (), "headers": (), "drop_headers": ()})
    assert unchanged == config
    changed = effective_config(
        config,
        {
            "target": "http://x",
            "speed": 2.0,
            "warm_fraction": 0.5,
            "no_data": "pass",
            "formats": ("md",),
            "headers": ("X-B: 2",),
            "drop_headers": ("cookie",),
            "preserve_host": False,
        },
    )
    assert (changed.replay.target, changed.replay.speed, changed.replay.rate) == (
        "http://x",
        2.0,
        5.0,
    )
    assert changed.replay.headers == {"X-A": "1", "X-B": "2"}
    assert changed.replay.drop_headers == ("cookie",) and changed.replay.preserve_host is False
    # a fraction given on the command line wins over the file's duration
    assert (changed.gate.warm_fraction, changed.gate.warm_duration_s) == (0.5, None)
    assert (changed.gate.no_data, changed.gate.reports) == ("pass", ("md",))
    assert changed.gate.checks == ("errors.rate < 1%",)


def test_a_gate_that_skips_most_records_fails_with_the_skip_reasons(
    tmp_path: Path, candidate: CandidateServer
) -> None:
    from tests.replay.conftest import write_jsonl
    from warmer.model.sample import SampleRecord

    def record(i: int) -> SampleRecord:
        # A third sendable GETs, a third POSTs (skipped by design), a third GETs that
        # cannot be sent as recorded (a target that is not a path).
        method = "POST" if i % 3 == 1 else "GET"
        target = f"item/{i % 40}" if i % 3 == 2 else f"/item/{i % 40}"
        return SampleRecord(1_700_000_000 + i * 0.1, method, target, f"GET /item/{i % 40}")

    sample = write_jsonl(tmp_path / "mixed.jsonl", [record(i) for i in range(600)])
    run_dir = tmp_path / "run"
    result = warmer(*gate_args(candidate, sample, run_dir, "errors.rate < 0.5"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    by_text = {c["expression"]: c for c in report["checks"]}
    skipped = by_text["skipped.rate <= 5%"]
    # Only the unsendable third counts against the phase; the POSTs are shown apart.
    assert skipped["outcome"] == "fail" and 0.25 < skipped["observed"] < 0.42
    assert "invalid" in skipped["diagnosis"] and "method" in skipped["diagnosis"]
    verify = report["phases"][1]
    assert verify["skipped"]["method"] > 0 and verify["skip_rate"] == skipped["observed"]
    assert "| Skipped |" in (run_dir / "report.md").read_text()


def test_records_of_methods_not_replayed_do_not_fail_the_gate(
    tmp_path: Path, candidate: CandidateServer
) -> None:
    from tests.replay.conftest import write_jsonl
    from warmer.model.sample import SampleRecord

    records = [
        SampleRecord(1_700_000_000 + i * 0.1, "POST" if i % 2 else "GET", f"/item/{i % 40}",
                     f"GET /item/{i % 40}")
        for i in range(400)
    ]  # fmt: skip
    sample = write_jsonl(tmp_path / "half-post.jsonl", records)
    run_dir = tmp_path / "run"
    result = warmer(*gate_args(candidate, sample, run_dir, "errors.rate < 0.5"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["phases"][1]["skipped"]["method"] > 0
    assert report["phases"][1]["skip_rate"] == 0.0


def test_debug_never_changes_the_exit_code(tmp_path: Path, small_sample: Path) -> None:
    port = free_port()
    args = ["gate", "--target", f"http://127.0.0.1:{port}", "--sample", str(small_sample)]
    args += ["--run-dir", str(tmp_path / "run")]
    plain = warmer(*args, cwd=tmp_path)
    debug = warmer("--debug", *args, cwd=tmp_path)
    assert plain.returncode == debug.returncode == 3, debug.stderr
    bad = warmer("--debug", "gate", "--sample", str(tmp_path / "none.jsonl"), "--target", "x")
    assert bad.returncode == 2, bad.stderr
    assert "Traceback" in bad.stderr  # --debug adds the traceback, and only that


def test_dry_run_prints_the_hot_first_plan(tmp_path: Path, small_sample: Path) -> None:
    args = ["gate", "--dry-run", "--sample", str(small_sample), "--order", "hot-first"]
    args += ["--pacing", "max", "--warm-until", "hit_rate.effective >= 0.5"]
    result = warmer(*args, "--check", "hit_rate.effective >= 0.3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    warm = next(line for line in lines if line.startswith("warm:"))
    planned = int(warm.split()[1].replace(",", ""))
    detail = lines[lines.index(warm) + 1].strip()
    keys, hot = detail.split(" of ")[0], detail.split("then the ")[1].split(" hottest")[0]
    assert planned == int(keys.replace(",", "")) + int(hot.replace(",", ""))
    assert "until hit_rate.effective >= 0.5" in result.stdout


@pytest.mark.parametrize(
    ("extra", "config", "message"),
    [
        (
            ("--warm-until", "latency.p99_ms <= 40"),
            "",
            "only hit_rate.<tier> or hit_rate.effective",
        ),
        (("--warm-until", "hit_rate.l7 >= 0.5"), "", "tier 'l7', which is not configured"),
        ((), '[replay]\nprotect = ["backend.rps <= 10"]\n', "no [backend] source is configured"),
        (
            ("--pacing", "recorded"),
            '[replay]\nprotect = ["errors.rate < 1%"]\n',
            "recorded timing has none",
        ),
        ((), '[replay]\nprotect = ["backend.rps >= 10"]\n', "must be an upper limit"),
    ],
)
def test_bad_warm_controls_exit_2_before_sending(
    tmp_path: Path, small_sample: Path, extra: tuple[str, ...], config: str, message: str
) -> None:
    (tmp_path / "warmer.toml").write_text(config)
    target = f"http://127.0.0.1:{free_port()}"  # nothing listens: sending would be exit 3
    args = ["gate", "--target", target, "--sample", str(small_sample), *extra]
    result = warmer(*args, "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
