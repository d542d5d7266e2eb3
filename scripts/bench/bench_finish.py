"""Benchmark the gate's finish step on header tiers: seconds per 1M results, side by side.

Run from the repository root::

    .venv/bin/python scripts/bench/bench_finish.py [--rows 1000000] [--baseline REF]

Generates a results table of ``--rows`` requests (Zipf keys, nginx ``X-Cache-Status``
words, ``Cache-Control``/``Age``, recorded times over two hours, warm then verify) and
times ``ObserveSession.figures`` — what the gate's finish step asks of the observe stage —
for one nginx-preset header tier plus one ``Cache-Status`` tier, in this tree and in a
checkout of ``REF`` (default: where this branch left main), each in a fresh process on the
same table, alternating. The difference is what the freshness inference, stale hits,
keys-held estimate and recorded-pace simulation cost (target: at most 1 s per 1M results).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

TIMED = """
import sys, time
import pyarrow.parquet as pq
from warmer.config import config_from_tree
from warmer.observe.session import ObserveSession
table = pq.read_table(sys.argv[1])
keep = [c for c in table.column_names if c in set(sys.argv[2].split(","))]
table = table.select(keep)
tiers = {"l0": {"source": "cache-status", "cache": "l0"},
         "edge": {"source": "header", "header": "x-cache-status"}}
session = ObserveSession(config_from_tree({"tiers": tiers}, {}))
for label in ("warm_start", "warm_end", "verify_start", "verify_end"):
    session.boundary(label)
started = time.perf_counter()
figures = session.figures(table)
print(time.perf_counter() - started)
"""


def make_table(path: Path, rows: int) -> None:
    """A two-phase results file of ``rows`` requests with the columns both trees read."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(5)
    keys = np.minimum(rng.zipf(1.1, rows), 200_000)
    seen: set[int] = set()
    status = []
    for k in keys.tolist():  # a big cache: first sight misses, then mostly hits
        status.append("HIT" if k in seen and rng.random() > 0.05 else "MISS")
        seen.add(k)
    ages = rng.integers(0, 90, rows)
    warm = int(rows * 0.8)
    table = pa.table(
        {
            "seq": np.arange(rows),
            "phase": ["warm"] * warm + ["verify"] * (rows - warm),
            "method": ["GET"] * rows,
            "target": [f"/item/{k}" for k in keys.tolist()],
            "key": [f"GET /item/{k}" for k in keys.tolist()],
            "recorded_s": 1.7e9 + np.linspace(0, 7200, rows),
            "sent_s": np.linspace(0, 60, rows),
            "latency_ms": rng.uniform(0.2, 3, rows),
            "status": np.full(rows, 200, dtype=np.int32),
            "cache_status": [
                f"l0; {'hit' if s == 'HIT' else 'fwd=uri-miss; stored'}" for s in status
            ],
            "x_cache_status": status,
            "cache_control": np.where(rng.random(rows) < 0.5, "max-age=60", "max-age=3600"),
            "age": [
                str(a) if s == "HIT" else "0" for a, s in zip(ages.tolist(), status, strict=True)
            ],
        }
    )
    pq.write_table(table, path)


def timed(tree: Path, path: Path, columns: str) -> float:
    done = subprocess.run(
        [PY, "-c", TIMED, str(path), columns], cwd=tree, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"figures failed in {tree}: {done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=None, help="git ref (default: merge-base with main)")
    args = parser.parse_args()
    ref = (
        args.baseline
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()[:12]
    )
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        path = tmp / "results.parquet"
        make_table(path, args.rows)
        base = tmp / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), ref], cwd=ROOT,
                       check=True, capture_output=True)  # fmt: skip
        old_columns = (
            "seq,phase,method,target,key,sent_s,latency_ms,status,cache_status,x_cache_status,age"
        )
        try:
            now, then = [], []
            for _ in range(args.rounds):
                now.append(timed(ROOT, path, old_columns + ",recorded_s,cache_control"))
                then.append(timed(base, path, old_columns))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           check=False, capture_output=True)  # fmt: skip
    per_million = 1e6 / args.rows
    a, b = statistics.median(now), statistics.median(then)
    print(f"figures() on {args.rows:,} results, median of {args.rounds} fresh processes:")
    print(f"  this tree (inference, stale, keys held, recorded pace): {a:.2f} s  {now}")
    print(f"  {ref} (Cache-Status losses only):{'':>18}{b:.2f} s  {then}")
    print(f"added per 1M results: {(a - b) * per_million:.2f} s   (target <= 1 s)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
