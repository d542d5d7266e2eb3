"""``warmer observe`` through the real CLI: table, JSON, exit 3 with tier and masked address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from warmer.demo.services import MemcachedServer, RedisServer, free_port


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warmer", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_observe_table_and_json(
    tmp_path: Path, redis_unix: RedisServer, memcached_server: MemcachedServer
) -> None:
    (tmp_path / "warmer.toml").write_text(
        "[tiers.l0]\nsource = 'cache-status'\ncache = 'l0'\n"
        f"[tiers.l1]\nsource = 'redis'\nurl = '{redis_unix.url}'\n"
        f"[tiers.l2]\nsource = 'memcached'\nurl = '{memcached_server.address}'\nshared = true\n"
    )
    table = run(tmp_path, "observe")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["source", "kind", "address", "reachable"]
    assert "from responses" in lines[1] and "yes" in lines[2] and "l2 (shared)" in lines[3]

    as_json = run(tmp_path, "observe", "--json")
    assert as_json.returncode == 0
    found = {s["name"]: s for s in json.loads(as_json.stdout)}
    assert found["l1"]["reachable"] is True and found["l1"]["counters"]["keys"] == 0
    assert found["l2"]["shared"] is True
    assert found["l0"]["reachable"] is None


def test_unreachable_required_observer_is_exit_3_with_masked_password(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "warmer.toml").write_text(
        f"[tiers.l2]\nsource = 'redis'\nurl = 'redis://warmer:${{L2_PASSWORD}}@127.0.0.1:{port}/0'\n"
    )
    result = run(tmp_path, "observe", "--timeout-s", "0.5", env={"L2_PASSWORD": "t0p-secret"})
    assert result.returncode == 3
    assert "tier l2" in result.stderr
    assert f"redis://warmer:***@127.0.0.1:{port}/0" in result.stderr
    assert "t0p-secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_optional_unreachable_observer_is_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text(
        f"[backend]\nsource = 'prometheus'\nurl = 'http://127.0.0.1:{free_port()}/metrics'\n"
        "requests = 'backend_requests_total'\nrequired = false\n"
    )
    result = run(tmp_path, "observe", env={"WARMER_OBSERVE_TIMEOUT_S": "0.5"})
    assert result.returncode == 0, result.stderr
    assert "NO (optional)" in result.stdout


def test_nothing_configured_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text("[observe]\ninterval_s = 1\n")
    result = run(tmp_path, "observe")
    assert result.returncode == 2 and "[tiers.NAME]" in result.stderr


def test_bad_source_config_is_exit_2_with_path(tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text("[tiers.l1]\nsource = 'redis'\n")
    result = run(tmp_path, "observe")
    assert result.returncode == 2 and "tiers.l1" in result.stderr and "url" in result.stderr
