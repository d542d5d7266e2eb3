"""Miss-ratio curves: fixed-size SHARDS against the exact stack-distance curve, in one run.

Issue 13's targets: SHARDS on a 10M-request sample within 20 s and 500 MB, and a mean
absolute error against the exact curve of at most 0.01. Each computation runs in its own
process (wall time, CPU time and peak RSS from ``os.wait4``) and saves its curve; the
errors are computed afterwards at 100 sizes spread evenly up to the working set
(``warmer.sample.mrc.mean_absolute_error``) and, for small caches, at 100 sizes on a log
scale. Rows:

* the 10M-request sample of ``bench_memory.py`` (Zipf 1.2 over 5M keys, Parquet): SHARDS as
  installed, SHARDS with ``WARMER_NO_NATIVE=1`` (the numpy key hash), and exact;
* the bundled ``traffic_samples/demo.jsonl.gz`` with SHARDS at 1 024 and 2 048 keys;
* a generated Zipf trace of 2M requests (Zipf 1.05 over 1M keys).

    .venv/bin/python scripts/bench/bench_mrc.py [--requests 10000000] [--skip-exact]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_import import run  # noqa: E402
from bench_memory import make_sample  # noqa: E402
from bench_replay import DATA, PY, ROOT  # noqa: E402


def worker(method: str, sample: str, out: str, keys: int) -> None:
    """Compute one curve and save both units (sizes, miss ratios) to ``out`` (.npz)."""
    import numpy as np

    from warmer.sample.mrc import miss_ratio_curves
    from warmer.sample.source import SampleSource

    curves = miss_ratio_curves(SampleSource.open(sample), method=method, max_keys=keys)  # type: ignore[arg-type]
    arrays = {
        "objects_sizes": np.array(curves.objects.sizes),
        "objects_miss": np.array(curves.objects.miss_ratios),
        "rate": np.array([curves.sampling_rate]),
        "requests": np.array([curves.requests]),
    }
    if curves.bytes is not None:
        arrays["bytes_sizes"] = np.array(curves.bytes.sizes)
        arrays["bytes_miss"] = np.array(curves.bytes.miss_ratios)
    np.savez(out, **arrays)


def load(path: str, unit: str = "objects") -> object:
    import numpy as np

    from warmer.sample.mrc import MissRatioCurve

    data = np.load(path)
    if f"{unit}_sizes" not in data:
        return None
    sizes, miss = data[f"{unit}_sizes"].tolist(), data[f"{unit}_miss"].tolist()
    return MissRatioCurve(unit, tuple(sizes), tuple(miss))  # type: ignore[arg-type]


def log_error(curve: object, reference: object) -> float:
    """Mean |difference| at 100 sizes on a log scale from 1 to the working set."""
    import numpy as np

    top = reference.sizes[-1]  # type: ignore[attr-defined]
    sizes = np.geomspace(1, top, 100)
    return float(
        np.mean([abs(curve.miss_ratio(s) - reference.miss_ratio(s)) for s in sizes])  # type: ignore[attr-defined]
    )


def measure(
    method: str, sample: Path, keys: int, tmp: Path, *, native: bool = True
) -> dict[str, object]:
    out = tmp / f"{method}-{keys}-{native}-{sample.stem}.npz"
    env = None if native else {**os.environ, "WARMER_NO_NATIVE": "1"}
    cmd = [PY, __file__, "--worker", method, str(sample), str(out), str(keys)]
    wall, rss = run(cmd) if env is None else _run_env(cmd, env)
    return {"wall": wall, "rss": rss, "out": str(out)}


def _run_env(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return run(cmd)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def errors(result: dict[str, object], reference: dict[str, object]) -> str:
    import numpy as np

    from warmer.sample.mrc import mean_absolute_error

    rate = float(np.load(str(result["out"]))["rate"][0])
    parts = [f"R = {rate:.4f}"]
    for unit in ("objects", "bytes"):
        curve, exact = load(str(result["out"]), unit), load(str(reference["out"]), unit)
        if curve is None or exact is None:
            continue
        parts.append(
            f"{unit}: MAE {mean_absolute_error(curve, exact):.4f} (log scale "  # type: ignore[arg-type]
            f"{log_error(curve, exact):.4f})"
        )
    objects, exact_objects = load(str(result["out"])), load(str(reference["out"]))
    at = [
        f"{size:,}: {abs(objects.miss_ratio(size) - exact_objects.miss_ratio(size)):.3f}"  # type: ignore[attr-defined]
        for size in (100, 1000, 10_000, 100_000)
        if size <= exact_objects.sizes[-1]  # type: ignore[attr-defined]
    ]
    return "; ".join(parts) + "\n    |error| at " + ", ".join(at) + " keys"


def zipf_sample(requests: int) -> Path:
    path = DATA / f"mrc-zipf-{requests}.parquet"
    if path.exists():
        return path
    import numpy as np
    import pyarrow as pa

    from warmer.model.sample import SampleMeta
    from warmer.sample.store import SampleWriter

    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(13)
    with SampleWriter(path) as writer:
        done = 0
        while done < requests:
            n = min(250_000, requests - done)
            ids = rng.zipf(1.05, n) % 1_000_000
            targets = [f"/item/{i}" for i in ids.tolist()]
            writer.write_batch(
                pa.table(
                    {
                        "ts": np.arange(done, done + n, dtype=float) / 1000,
                        "method": ["GET"] * n,
                        "target": targets,
                        "key": [f"GET {t}" for t in targets],
                        "response_bytes": pa.array(1000 + (ids % 97) * 100, pa.int64()),
                    }
                )
            )
            done += n
        writer.close(SampleMeta(requests=requests))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--skip-exact", action="store_true", help="no exact 10M curve")
    parser.add_argument("--worker", nargs=4, metavar=("METHOD", "SAMPLE", "OUT", "KEYS"))
    args = parser.parse_args(argv)
    if args.worker:
        method, sample, out, keys = args.worker
        worker(method, sample, out, int(keys))
        return 0
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        big = make_sample(args.requests)
        print(f"{args.requests:,}-request sample: {big} ({big.stat().st_size / 2**20:.0f} MiB)")
        shards = measure("shards", big, 16_384, tmp)
        numpy_hash = measure("shards", big, 16_384, tmp, native=False)
        print(f"SHARDS (16,384 keys): {shards['wall']:.1f} s, {shards['rss']:.0f} MiB "
              f"[target <= 20 s, <= 500 MB]")  # fmt: skip
        print(f"SHARDS, numpy key hash (WARMER_NO_NATIVE=1): {numpy_hash['wall']:.1f} s, "
              f"{numpy_hash['rss']:.0f} MiB")  # fmt: skip
        if not args.skip_exact:
            exact = measure("exact", big, 16_384, tmp)
            print(f"exact: {exact['wall']:.1f} s, {exact['rss']:.0f} MiB; exact / SHARDS time "
                  f"{exact['wall'] / shards['wall']:.1f}x")  # type: ignore[operator]  # fmt: skip
            print(f"  SHARDS against exact: {errors(shards, exact)}")
        for name, sample in (
            ("demo.jsonl.gz", ROOT / "traffic_samples" / "demo.jsonl.gz"),
            ("Zipf 2M", zipf_sample(2_000_000)),
        ):
            exact = measure("exact", sample, 16_384, tmp)
            for keys in (1024, 2048, 16_384):
                sharded = measure("shards", sample, keys, tmp)
                print(f"{name}: exact {exact['wall']:.2f} s / SHARDS({keys:,}) "
                      f"{sharded['wall']:.2f} s: {errors(sharded, exact)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
