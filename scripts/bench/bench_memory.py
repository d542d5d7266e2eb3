"""Peak memory of replay, gate, sample inspect and hot-first ordering on large samples.

Run from the repository root::

    .venv/bin/python scripts/bench/bench_memory.py [--requests 2000000] [--only replay,gate,...]

The sample is synthetic but shaped like real traffic: Zipf popularity over a large key
space (most keys are seen once or twice), query strings, a few request headers, statuses,
response sizes and production cache statuses, spread over an hour. It is generated into
``bench-data/`` (gitignored) once per size. Every command runs against one local nginx
that answers every request (``X-Cache: HIT``), under ``/usr/bin/time`` for its max RSS.
The targets (issue 10): gate within 2x replay's peak; ``sample inspect`` and
``--order hot-first`` under 500 MB at 2M requests and flat at 10M.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_replay import DATA, PY, ROOT, TIME, parse_time, start_nginx  # noqa: E402

KEY_SPACE = 5_000_000
ZIPF_A = 1.2


def make_sample(requests: int) -> Path:
    """``requests`` GETs over an hour, Zipf over a large key space, cached in bench-data/."""
    path = DATA / f"memory-{requests}.parquet"
    if path.exists():
        return path
    import numpy as np
    import pyarrow as pa

    from warmer.model.sample import SampleMeta
    from warmer.sample.store import SampleWriter

    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(11)
    span = 3600.0
    start = 1_700_000_000.0
    done = 0
    with SampleWriter(path) as writer:
        while done < requests:
            n = min(250_000, requests - done)
            ids = np.minimum(rng.zipf(ZIPF_A, n), KEY_SPACE)
            ts = start + (done + np.arange(n)) * (span / requests)
            targets = [f"/product/{i}?ref=mail&page={i % 7}" for i in ids.tolist()]
            headers = [
                [("user-agent", f"Mozilla/5.0 bench/{i % 50}"), ("accept", "text/html")]
                for i in ids.tolist()
            ]
            table = pa.table(
                {
                    "ts": ts,
                    "method": ["GET"] * n,
                    "target": targets,
                    "key": [f"GET shop.example{t}" for t in targets],
                    "host": ["shop.example"] * n,
                    "headers": pa.array(headers, pa.map_(pa.string(), pa.string())),
                    "status": pa.array(np.where(ids % 97 == 0, 404, 200), pa.int32()),
                    "response_bytes": pa.array(2000 + (ids % 5000) * 10, pa.int64()),
                    "cache_status": np.where(ids < 2000, "HIT", "MISS").tolist(),
                }
            )
            writer.write_batch(table)
            done += n
        writer.close(SampleMeta(requests=requests))
    return path


def measure(args: list[str], cwd: Path) -> dict[str, float]:
    """Max RSS (MB) and CPU seconds of one warmer command (its exit code must be 0 or 1)."""
    done = subprocess.run(
        [*TIME, PY, "-m", "warmer", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"warmer {args[0]} failed ({done.returncode}): {done.stderr[-3000:]}")
    return parse_time(done.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2_000_000)
    parser.add_argument("--only", default="replay,gate,inspect,hot-first")
    options = parser.parse_args()
    only = set(options.only.split(","))
    sample = make_sample(options.requests)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        nginx, url = start_nginx(tmp)
        try:
            figures = run_all(sample, url, tmp, only)
        finally:
            nginx.terminate()
    print(json.dumps(figures, indent=2))


def run_all(sample: Path, url: str, tmp: Path, only: set[str]) -> dict[str, float]:
    label = f"{options_label(sample)}"
    figures: dict[str, float] = {}
    common = ["--target", url, "--concurrency", "64"]
    if "replay" in only:
        out = tmp / "replay.parquet"
        rss = measure(["replay", str(sample), *common, "-o", str(out), "--no-progress"], tmp)
        figures["replay_mb"] = rss["maxrss_mb"]
        print(f"replay      {label}: max RSS {rss['maxrss_mb']:.0f} MB", flush=True)
    if "gate" in only:
        (tmp / "warmer.toml").write_text(GATE_TOML.format(url=url, sample=sample))
        rss = measure(["gate", "--run-dir", str(tmp / "run")], tmp)
        figures["gate_mb"] = rss["maxrss_mb"]
        print(f"gate        {label}: max RSS {rss['maxrss_mb']:.0f} MB", flush=True)
        if "replay_mb" in figures:
            ratio = figures["gate_mb"] / figures["replay_mb"]
            print(f"ratio gate / replay: {ratio:.2f}x   (target <= 2)", flush=True)
    if "inspect" in only:
        rss = measure(["sample", "inspect", str(sample), "--json"], tmp)
        figures["inspect_mb"] = rss["maxrss_mb"]
        print(f"inspect     {label}: max RSS {rss['maxrss_mb']:.0f} MB   (target < 500)")
    if "hot-first" in only:
        args = ["replay", str(sample), *common, "--order", "hot-first", "--limit", "50000"]
        rss = measure([*args, "-o", str(tmp / "hot.parquet"), "--no-progress"], tmp)
        figures["hot_first_mb"] = rss["maxrss_mb"]
        print(f"hot-first   {label}: max RSS {rss['maxrss_mb']:.0f} MB   (target < 500)")
    return figures


def options_label(sample: Path) -> str:
    import pyarrow.parquet as pq

    return f"{pq.ParquetFile(sample).metadata.num_rows:,} requests"


GATE_TOML = """
[replay]
target = "{url}"
pacing = "max"
concurrency = 64

[gate]
sample = "{sample}"
settle_s = 0.5
checks = ["hit_rate.edge >= 0.5", "errors.rate < 0.01", "latency.p99_ms <= 500"]

[tiers.edge]
source = "header"
header = "x-cache"
"""


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
