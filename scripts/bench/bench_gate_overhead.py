"""Benchmark the gate's own cost: wall time of a cold demo gate run outside its replay phases.

Target (issue 5): everything in a gate run besides the two replay phases takes at most 10 %
of its wall time on the demo. Each run is what a CD pipeline pays: a fresh ``warmer gate``
process (Python's imports included) against a freshly started healthy demo stack (L1/L2
Redis + the reference candidate, bundled ``warmer.toml``). The parts are cut from the
gate's own timestamps (``warmer gate --timings FILE``) and from this script's clock around
the process (spawn → exit):

* ``startup``  — spawn until the gate command runs (interpreter, click, config);
* ``prepare``  — load and split the sample, parse checks, plan;
* ``preflight`` — run directory, config and sample slice, target and observers reachable;
* ``warm`` / ``verify`` — the two replays, as the replay stage measures them;
* ``settle``   — the configured pause (the sample is profiled meanwhile), shown apart;
* ``finish``   — metrics, curves, checks, diagnoses, the four reports;
* ``exit``     — printing the verdict and interpreter shutdown;
* ``between``  — boundary snapshots, replay start-up/close, a settle that overran.

The overhead share is ``(wall − warm − verify − settle) / wall``. Side by side, on its own
fresh stack, a fresh ``warmer replay`` process sends the same sample at the same pacing
with no observers and no reports: gate wall ÷ replay wall is printed as the ratio. Both
the bundled JSONL.gz sample and the same sample as Parquet are measured. Run from the
repository root::

    .venv/bin/python scripts/bench/bench_gate_overhead.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from warmer.demo.scenarios import bundled_config, bundled_sample, scenario  # noqa: E402

PARTS = ("startup", "prepare", "preflight", "warm", "settle", "verify", "finish", "exit")


def warmer(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``python -m warmer ARGS``; (spawn epoch time, exit epoch time, stdout)."""
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "warmer", "--config", str(bundled_config()), *args],
        env={**os.environ, **env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    exited = time.time()
    if done.returncode not in (0, 1):
        raise SystemExit(f"warmer {' '.join(args[:1])} exited {done.returncode}:\n{done.stderr}")
    return spawned, exited, done.stdout


def gate_once(sample: Path, tmp: Path) -> dict[str, float]:
    """One cold gate run on a fresh stack, cut into its parts (seconds)."""
    timings_file = tmp / "timings.json"
    with scenario("healthy").start() as stack:
        args = ["gate", "--sample", str(sample), "--run-dir", str(tmp / "run")]
        spawned, exited, _ = warmer([*args, "--timings", str(timings_file)], stack.env())
    timings = json.loads(timings_file.read_text())
    report = json.loads((tmp / "run" / "report.json").read_text())
    return parts(timings, spawned, exited, settle_s=report["plan"]["settle_s"])


def parts(
    timings: dict[str, Any], spawned: float, exited: float, settle_s: float
) -> dict[str, float]:
    """The gate's wall time cut into PARTS, plus ``between``, ``wall`` and ``overhead``."""
    m, replay_s = timings["marks"], timings["replay_s"]
    figures = {
        "startup": m["command"] - spawned,
        "prepare": m["prepared"] - m["command"],
        "preflight": m["warm_start"] - m["prepared"],
        "warm": replay_s["warm"],
        "settle": settle_s,
        "verify": replay_s["verify"],
        "finish": m["finished"] - m["verify_end"],
        "exit": exited - m["finished"],
        "wall": exited - spawned,
    }
    figures["between"] = figures["wall"] - sum(figures[p] for p in PARTS)
    figures["overhead"] = figures["wall"] - figures["warm"] - figures["verify"] - settle_s
    return figures


def replay_once(sample: Path, tmp: Path) -> dict[str, float]:
    """A fresh ``warmer replay`` process sending the whole sample at the gate's pacing."""
    with scenario("healthy").start() as stack:
        args = ["replay", str(sample), "--target", stack.target, "--pacing", "max"]
        args += ["--concurrency", "32", "--out", str(tmp / "plain.parquet"), "--json"]
        args += ["--no-progress"]
        spawned, exited, stdout = warmer(args, stack.env())
    summary = json.loads(stdout)
    return {"wall": exited - spawned, "replay": float(summary["duration_s"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="cold gate runs per sample")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        jsonl = bundled_sample() or ROOT / "traffic_samples" / "demo.jsonl.gz"
        variants = (("bundled JSONL.gz sample", jsonl), ("same sample as Parquet", None))
        for label, sample in variants:
            sample = sample or to_parquet(jsonl, tmp / "demo.parquet")
            load_before = os.getloadavg()[0]
            runs = []
            for i in range(args.repeat):
                runs.append(gate_once(sample, tmp / f"gate-{i}"))
            plain = replay_once(sample, tmp / "plain")
            print(
                f"\n== {label}: {args.repeat} cold gate runs, load {load_before:.1f} → "
                f"{os.getloadavg()[0]:.1f} (1-min average, {os.cpu_count()} cores)"
            )
            report(runs, plain)


def to_parquet(source: Path, path: Path) -> Path:
    from warmer.sample.store import SampleWriter, open_sample

    reader = open_sample(source)
    with SampleWriter(path) as writer:
        writer.write_batch(reader.to_table())
        writer.close(reader.meta)
    return path


def report(runs: list[dict[str, float]], plain: dict[str, float]) -> None:
    """Every run's overhead share, then the parts of the median run."""
    shares = [r["overhead"] / r["wall"] for r in runs]
    print("overhead share of each run: " + ", ".join(f"{s:.1%}" for s in shares))
    median = sorted(runs, key=lambda r: r["overhead"] / r["wall"])[len(runs) // 2]
    wall = median["wall"]
    print(f"median run — {'part':24} {'seconds':>8} {'share':>7}")
    for name in (*PARTS, "between"):
        print(f"             {name:24} {median[name]:8.2f} {median[name] / wall:7.1%}")
    print(f"             {'gate wall time':24} {wall:8.2f}")
    overhead = median["overhead"]
    print(
        f"overhead outside replay and settle: {overhead:.2f} s = {overhead / wall:.1%} "
        f"(target <= 10 %; median of {statistics.median(shares):.1%})"
    )
    print(f"overhead counting the settle pause too: {(overhead + median['settle']) / wall:.1%}")
    print(
        f"plain `warmer replay` process: {plain['wall']:.2f} s wall "
        f"({plain['replay']:.2f} s replaying); gate ÷ plain = {wall / plain['wall']:.2f}×"
    )


if __name__ == "__main__":
    main()
