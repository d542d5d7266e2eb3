"""Secrets substituted into URLs from the environment never appear in output or artifacts.

``http://${TOKEN}@host/metrics`` and ``redis://${PW}@host`` (userinfo without a colon) used
to be printed in errors, ``observe`` output, ``config.json`` and every report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import run_warmer
from tests.replay.recording import RecordingServer
from warmer.demo.services import free_port

TOKEN, PASSWORD, USER_PW = "tok-8c1d0e55", "pw-51f3aa09", "upw-e0e0c3"
ENV = {"PROM_TOKEN": TOKEN, "REDIS_PW": PASSWORD, "MC_PW": USER_PW}


def _config(where: Path, *, required: bool) -> None:
    dead = free_port()
    flag = "true" if required else "false"
    (where / "warmer.toml").write_text(
        f"[tiers.l1]\nsource = 'redis'\nurl = 'redis://${{REDIS_PW}}@127.0.0.1:{dead}/0'\n"
        f"required = {flag}\n"
        "[tiers.l2]\nsource = 'prometheus'\n"
        f"url = 'http://${{PROM_TOKEN}}@127.0.0.1:{dead}/metrics'\n"
        f"hits = 'hits_total'\nrequired = {flag}\n"
        f"[backend]\nsource = 'promql'\nurl = 'http://svc:${{MC_PW}}@127.0.0.1:{dead}'\n"
        f"requests = 'sum(x)'\nrequired = {flag}\n"
    )


def _clean(*texts: str) -> None:
    for text in texts:
        for secret in ENV.values():
            assert secret not in text


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.close()


def test_observe_masks_every_userinfo_form(tmp_path: Path) -> None:
    _config(tmp_path, required=False)
    table = run_warmer("observe", "--timeout-s", "0.5", cwd=tmp_path, env=ENV)
    as_json = run_warmer("observe", "--json", "--timeout-s", "0.5", cwd=tmp_path, env=ENV)
    assert table.returncode == 0 and as_json.returncode == 0, table.stderr
    assert "redis://***@127.0.0.1" in table.stdout and "http://***@127.0.0.1" in table.stdout
    assert "http://svc:***@127.0.0.1" in table.stdout
    _clean(table.stdout, table.stderr, as_json.stdout, as_json.stderr)
    _config(tmp_path, required=True)
    failed = run_warmer("observe", "--timeout-s", "0.5", cwd=tmp_path, env=ENV)
    assert failed.returncode == 3 and "***@127.0.0.1" in failed.stderr
    _clean(failed.stdout, failed.stderr)


@pytest.mark.slow
def test_gate_artifacts_hold_no_url_secret(recorder: RecordingServer, tmp_path: Path) -> None:
    _config(tmp_path, required=False)
    sample = tmp_path / "s.jsonl"
    sample.write_text(
        "".join(
            json.dumps({"ts": 1_700_000_000 + i, "method": "GET", "target": f"/p/{i % 4}"}) + "\n"
            for i in range(20)
        )
    )
    run_dir = tmp_path / "run"
    target = f"http://{TOKEN}@127.0.0.1:{recorder.port}"
    gate = run_warmer(
        "gate", "--target", target, "--sample", str(sample), "--run-dir", str(run_dir),
        "--settle", "0", "--check", "errors.rate < 100%", cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert gate.returncode in (0, 1), gate.stderr
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {"config.json", "report.json", "report.md", "report.html", "junit.xml"} <= {
        p.name for p in files
    }
    _clean(gate.stdout, gate.stderr, *(p.read_bytes().decode("latin-1") for p in files))
    config = json.loads((run_dir / "config.json").read_text())
    assert config["tiers"]["l1"]["url"].startswith("redis://***@127.0.0.1:")
    assert config["tiers"]["l2"]["url"].startswith("http://***@127.0.0.1:")
    report = run_warmer("report", str(run_dir), "--format", "md", "--output", "-")
    _clean(report.stdout, report.stderr)
