"""What scrubbing costs on import: pseudonyms (the default) vs plain ``--redact`` vs ``--no-scrub``.

The three variants of ``warmer sample import`` run on the same 1M-line combined log
(``scripts/bench/bench_import.py`` makes it), interleaved round by round so a shared
machine's load hits them alike; wall and CPU time come from ``os.wait4``. Prints the
medians and the ratios to the default. ``--base DIR`` adds a fourth variant: the default
import of another checkout (``PYTHONPATH=DIR``), e.g. the commit before a change.

    .venv/bin/python scripts/bench/bench_scrub.py [--rounds 7] [--base /tmp/old-checkout]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from bench_import import ensure_log  # noqa: E402


def run(args: list[str], root: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARMER_")}
    env["PYTHONPATH"] = str(root)
    command = [sys.executable, "-m", "warmer", "sample", "import", *args, "-o", str(out)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--base", type=Path, help="another checkout to compare with")
    options = parser.parse_args()
    log = str(ensure_log(options.lines))
    variants: dict[str, tuple[list[str], Path]] = {
        "pseudonyms": ([log], ROOT),
        "--redact": ([log, "--redact"], ROOT),
        "--no-scrub": ([log, "--no-scrub"], ROOT),
    }
    if options.base:
        variants["base checkout"] = ([log], options.base.resolve())
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(options.rounds):
            for name, (args, root) in variants.items():
                times[name].append(run(args, root, Path(tmp) / "out.parquet"))
    print(f"{options.rounds} rounds, load average {os.getloadavg()[0]:.1f} at the end")
    default_cpu = statistics.median(c for _, c in times["pseudonyms"])
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        fastest = min(w for w, _ in runs)
        print(
            f"{name:14} wall median {wall:5.2f} s (min {fastest:5.2f})  cpu median {cpu:5.2f} s"
            f"  pseudonyms / this (cpu) = {default_cpu / cpu:.3f}"
        )


if __name__ == "__main__":
    main()
