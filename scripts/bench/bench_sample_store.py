"""Benchmark the sample store and key function against the obvious alternatives, side by side.

* reading the bundled 55 000-request ``demo.jsonl.gz`` whole: warmer's reader (Arrow's
  JSON reader with the sample's types, required fields checked, headers as a map, keys
  filled) vs ``pandas.read_json(lines=True)`` on the same records (no validation), and vs
  a bare ``pyarrow.json.read_json`` (the floor: no checks, headers left a struct);
* the same read record by record (what a file the fast path refuses gets: a Python loop
  that names the line at fault) vs ``pandas.read_json``;
* streaming ``SampleRecord`` objects (the replay stage's path) vs a bare
  ``gzip`` + ``json.loads`` loop (the floor);
* Parquet: warmer's reader vs ``pyarrow.parquet.read_table``;
* cache keys for the 55 000 targets: warmer's key function vs a ``urllib.parse``
  normaliser doing the same job (split, parse_qsl, drop utm_*, sort, urlencode).

Each figure is the best of ``--repeat`` runs. Run from the repository root::

    .venv/bin/python scripts/bench/bench_sample_store.py --repeat 3
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from warmer.model.sample import SampleMeta  # noqa: E402
from warmer.sample.keys import make_key_function  # noqa: E402
from warmer.sample.store import SampleReader, SampleWriter, open_sample  # noqa: E402

DEMO = ROOT / "traffic_samples" / "demo.jsonl.gz"


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def urllib_key(method: str, target: str) -> str:
    parts = urlsplit(target)
    params = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not any(fnmatch.fnmatch(k.lower(), p) for p in ("utm_*", "gclid", "fbclid"))
    ]
    query = urlencode(sorted(params))
    method = "GET" if method == "HEAD" else method
    return f"{method} {parts.path}?{query}" if query else f"{method} {parts.path}"


def stream_floor(path: Path) -> int:
    count = 0
    with gzip.open(path, "rt") as fh:
        next(fh)
        for line in fh:
            json.loads(line)
            count += 1
    return count


def row(name: str, ours: float, theirs: float, other: str) -> None:
    print(f"{name:<34} warmer {ours * 1000:8.1f} ms   {other} {theirs * 1000:8.1f} ms   "
          f"ratio {theirs / ours:5.2f}x")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import pandas as pd
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    reader = open_sample(DEMO)
    table = reader.to_table()  # also warms imports so they are not timed
    records = [(r.method, r.target) for r in reader.iter_records()]
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "records.jsonl.gz"
        with gzip.open(DEMO, "rb") as src, gzip.open(bare, "wb") as dst:
            src.readline()  # pandas cannot skip the header line
            shutil.copyfileobj(src, dst)
        parquet = Path(tmp) / "demo.parquet"
        with SampleWriter(parquet) as writer:
            writer.write_batch(table)
            writer.close(SampleMeta())

        print(f"{len(records)} requests from {DEMO.relative_to(ROOT)}, best of {args.repeat}")
        row(
            "read JSONL.gz to a table",
            best(lambda: open_sample(DEMO).to_table(), args.repeat),
            best(lambda: pd.read_json(bare, lines=True), args.repeat),
            "pandas.read_json",
        )
        row(
            "read JSONL.gz to a table (floor)",
            best(lambda: open_sample(DEMO).to_table(), args.repeat),
            best(lambda: pj.read_json(bare), args.repeat),
            "pyarrow.json.read_json",
        )
        row(
            "read JSONL.gz record by record",
            best(lambda: SampleReader.to_table(open_sample(DEMO)), args.repeat),
            best(lambda: pd.read_json(bare, lines=True), args.repeat),
            "pandas.read_json",
        )
        row(
            "stream records (JSONL.gz)",
            best(lambda: sum(1 for _ in open_sample(DEMO).iter_records()), args.repeat),
            best(lambda: stream_floor(DEMO), args.repeat),
            "gzip+json.loads",
        )
        row(
            "read Parquet to a table",
            best(lambda: open_sample(parquet).to_table(), args.repeat),
            best(lambda: pq.read_table(parquet), args.repeat),
            "pq.read_table",
        )
        key = make_key_function()
        row(
            "cache keys for every target",
            best(lambda: [key(m, t, {}) for m, t in records], args.repeat),
            best(lambda: [urllib_key(m, t) for m, t in records], args.repeat),
            "urllib normaliser",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
