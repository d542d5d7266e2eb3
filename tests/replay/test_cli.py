"""``warmer replay`` end to end in a subprocess: exit codes, results file, SIGINT, shards."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.replay.conftest import ROOT, Uvicorn, free_port, records, write_jsonl
from warmer.replay import open_results


def warmer(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warmer", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def sample(tmp_path: Path, paths: list[str]) -> str:
    return str(write_jsonl(tmp_path / "sample.jsonl", records(paths)))


def test_replay_writes_results_and_prints_json(server: Uvicorn, tmp_path: Path) -> None:
    path = sample(tmp_path, ["/hit/1", "/chunked", "/hit/2"] * 10)
    done = warmer("replay", path, "--target", server.url, "-o", "r.parquet", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["sent"] == 30 and data["status_classes"] == {"2xx": 30}
    assert "30 requests" in done.stderr
    assert open_results(tmp_path / "r.parquet").num_rows == 30


def test_down_target_exits_3_naming_the_address(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    done = warmer(
        "replay", sample(tmp_path, ["/a"]), "--target", f"http://127.0.0.1:{port}", cwd=tmp_path
    )
    assert done.returncode == 3
    assert f"127.0.0.1:{port}" in done.stderr
    assert time.monotonic() - started < 60  # generous: "within seconds", not a timing check
    assert not (tmp_path / "results.parquet").exists()


def test_protected_host_exits_2(tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text('[safety]\nprotected_hosts = ["*.prod.example.com"]\n')
    done = warmer(
        "--config", "warmer.toml", "replay", sample(tmp_path, ["/a"]),
        "--target", "https://www.prod.example.com", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and "protected" in done.stderr


def test_unsafe_method_exits_2(server: Uvicorn, tmp_path: Path) -> None:
    path = sample(tmp_path, ["/a"])
    done = warmer("replay", path, "--target", server.url, "--allow-method", "TRACE", cwd=tmp_path)
    assert done.returncode == 2 and "TRACE" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_drains_flushes_and_exits_130(
    server: Uvicorn, tmp_path: Path, signum: signal.Signals
) -> None:
    path = sample(tmp_path, [f"/hit/{i}" for i in range(2000)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "warmer", "replay", path, "--target", server.url,
         "--pacing", "rate", "--rate", "50", "-o", "r.parquet"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while sum(server.stats()["seen"].values()) < 10 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted" in err
    results = open_results(tmp_path / "r.parquet")
    assert 10 <= results.num_rows < 2000
    assert results.meta["runs"][0]["interrupted"] is True


def test_processes_split_and_merge(server: Uvicorn, tmp_path: Path) -> None:
    path = sample(tmp_path, [f"/hit/{i % 7}" for i in range(301)])
    done = warmer(
        "replay", path, "--target", server.url, "--processes", "2", "-o", "m.parquet", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sent"] == 301
    table = open_results(tmp_path / "m.parquet").to_table(["seq"])
    assert sorted(table.column("seq").to_pylist()) == list(range(301))


def test_root_is_the_repository() -> None:
    assert (ROOT / "warmer" / "replay").is_dir()


def test_warmer_toml_supplies_defaults_and_flags_win(server: Uvicorn, tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text(
        f'[replay]\ntarget = "{server.url}"\nheaders = {{ X-Warm = "toml" }}\n'
    )
    path = sample(tmp_path, ["/hit/1"] * 3)
    done = warmer("--config", "warmer.toml", "replay", path, "--limit", "2", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sent"] == 2
    assert server.stats()["last_headers"]["x-warm"] == "toml"


def test_hot_first_sends_one_request_per_key_hottest_first(server: Uvicorn, tmp_path: Path) -> None:
    path = sample(tmp_path, ["/hit/b", "/hit/a", "/hit/a", "/hit/c", "/hit/a", "/hit/b"])
    done = warmer(
        "replay", path, "--target", server.url, "--order", "hot-first", "--repeat", "2",
        "-c", "1", "-o", "h.parquet", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = open_results(tmp_path / "h.parquet").to_table(["seq", "target"]).to_pylist()
    order = [row["target"] for row in sorted(table, key=lambda row: row["seq"])]
    assert order == ["/hit/a", "/hit/b", "/hit/c"] * 2


@pytest.mark.parametrize(
    "flags",
    [
        ["--order", "hot-first", "--pacing", "recorded"],
        ["--pacing", "rate"],
        ["--concurrency", "0"],
        ["--slice", "nonsense"],
        ["--header", "no colon"],
    ],
)
def test_bad_flags_exit_2_before_sending(server: Uvicorn, tmp_path: Path, flags: list[str]) -> None:
    done = warmer(
        "replay", sample(tmp_path, ["/hit/z"]), "--target", server.url, *flags, cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "GET /hit/z" not in server.stats()["seen"]


def test_missing_sample_exits_2_even_when_the_target_is_down(tmp_path: Path) -> None:
    target = f"http://127.0.0.1:{free_port()}"
    done = warmer("replay", "nope.jsonl", "--target", target, cwd=tmp_path)
    assert done.returncode == 2 and "nope.jsonl" in done.stderr
