"""Run one ``warmer gate`` process against a fresh demo stack and read its report back.

Shared by the warming benchmarks: each run gets its own L1/L2 Redis and reference candidate
(cold caches), the bundled ``warmer.toml`` with extra lines, and its own run directory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def gate(
    run_dir: Path,
    *,
    replay: str = "",
    observe: str = "",
    args: tuple[str, ...] = (),
    candidate: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report of a gate run on the healthy scenario; ``replay``/``observe`` add TOML lines."""
    from warmer.demo.scenarios import bundled_config, scenario

    spec = scenario("healthy")
    if candidate:
        spec = dataclasses.replace(spec, candidate=spec.candidate.replace(**candidate))
    text = bundled_config().read_text()
    text = text.replace("concurrency = 32\n", f"concurrency = 32\n{replay}")
    text = text.replace("[gate]\n", f"[observe]\n{observe}\n[gate]\n", 1)
    run_dir.mkdir(parents=True, exist_ok=True)
    config = run_dir.parent / f"{run_dir.name}.toml"
    config.write_text(text)
    with spec.start(run_dir.parent / f"{run_dir.name}-stack") as stack:
        env = {**os.environ, **stack.env(), "NO_COLOR": "1"}
        started = time.perf_counter()
        command = [sys.executable, "-m", "warmer", "--config", str(config), "gate"]
        done = subprocess.run(
            [*command, "--run-dir", str(run_dir), *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"gate failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    report["_wall_s"] = wall
    report["_stderr"] = done.stderr
    return report


def phase(report: dict[str, Any], name: str) -> dict[str, Any]:
    """The phase called ``name`` of a report document."""
    return next(p for p in report["phases"] if p["name"] == name)


def tier_rate(report: dict[str, Any], name: str, tier: str) -> float | None:
    """A tier's hit rate in a phase of a report document."""
    found = next((t for t in phase(report, name)["tiers"] if t["name"] == tier), None)
    return None if found is None else found["hit_rate"]
