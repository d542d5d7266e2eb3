"""Benchmark ``warmer sample import`` against GoAccess and a pure-Python regex importer.

All three run on the same 1M-line combined log in one invocation, each as a subprocess
(warmer twice: as installed, and with ``WARMER_NO_NATIVE=1``, without its C tokenizer)
whose wall time and peak RSS (``os.wait4``) are measured; the ratios and the pass/fail
against the issue's targets are printed. ``--lines 10000000`` feeds the 1M-line file ten
times through stdin and compares warmer's peak RSS with the 1M run (it must stay flat).

    .venv/bin/python scripts/bench/bench_import.py [--lines 1000000] [--skip-goaccess]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench-data"
PY = sys.executable


def run(cmd: list[str] | str, *, shell: bool = False) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process (CPU seconds go to stdout:
    on a shared machine they show how much of the wall time was waiting for a core)."""
    # stderr goes to a file: a pipe nobody reads until the end could fill up and stall.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, shell=shell, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        errors.seek(0)
        err = errors.read().decode(errors="replace")[-2000:]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({status}): {cmd}\n{err}")
    name = cmd if isinstance(cmd, str) else " ".join(Path(c).name for c in cmd[:4])
    cpu = usage.ru_utime + usage.ru_stime
    print(f"  run {name[:60]}: wall {wall:.2f} s, cpu {cpu:.2f} s, load {os.getloadavg()[0]:.1f}")
    return wall, usage.ru_maxrss / 1024.0


def best(repeat: int, cmd: list[str]) -> tuple[float, float]:
    """Fastest of ``repeat`` runs (the machine is shared), with its peak RSS."""
    return min(run(cmd) for _ in range(max(repeat, 1)))


def ensure_log(lines: int) -> Path:
    path = DATA / f"combined-{lines // 1000}k.log"
    if not path.exists() or path.stat().st_size == 0:
        DATA.mkdir(exist_ok=True)
        subprocess.run(
            [PY, str(ROOT / "scripts/bench/gen_combined.py"), str(path), "--lines", str(lines)],
            check=True,
        )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--skip-goaccess", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs of each tool")
    args = parser.parse_args(argv)
    log = ensure_log(1_000_000)
    size_mb = log.stat().st_size / 1e6
    print(f"input: {log} ({size_mb:.0f} MB, 1M lines); load: {os.getloadavg()[0]:.1f}")
    from warmer.sample.formats import nginx

    built = "built" if nginx._tokenize is not None else "NOT built (no C compiler?)"
    print(f"compiled tokenizer: {built}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    warmer = [PY, "-m", "warmer", "sample", "import", str(log), "-o", str(tmp / "w.parquet")]
    results = {"warmer": best(args.repeat, warmer)}
    # The same import without the compiled tokenizer: what a machine without a C compiler
    # runs (Arrow's CSV tokenizer and compute kernels).
    results["warmer-no-c"] = best(args.repeat, ["env", "WARMER_NO_NATIVE=1", *warmer])
    results["python-re"] = best(
        args.repeat,
        [PY, str(ROOT / "scripts/bench/_baseline_import.py"), str(log), str(tmp / "b.parquet")],
    )
    if not args.skip_goaccess:
        results["goaccess"] = best(
            args.repeat,
            [
                "goaccess",
                str(log),
                "--log-format=COMBINED",
                "--no-global-config",
                "--no-progress",
                "-o",
                str(tmp / "g.json"),
            ],
        )
    for name, (wall, rss) in results.items():
        print(f"{name:12s} {wall:7.2f} s  peak RSS {rss:7.0f} MiB")
    w_wall, w_rss = results["warmer"]
    ok = w_rss <= 1024
    ratio = results["python-re"][0] / w_wall
    print(f"python-re / warmer = {ratio:.1f}x (target >= 3x): {'PASS' if ratio >= 3 else 'FAIL'}")
    ok &= ratio >= 3
    if "goaccess" in results:
        ratio = results["goaccess"][0] / w_wall
        print(
            f"goaccess / warmer = {ratio:.1f}x (target >= 8x): {'PASS' if ratio >= 8 else 'FAIL'}"
        )
        ok &= ratio >= 8
    print(
        f"warmer peak RSS {w_rss:.0f} MiB (target <= 1024): {'PASS' if w_rss <= 1024 else 'FAIL'}"
    )
    if args.lines > 1_000_000:
        times = args.lines // 1_000_000
        cmd = (
            f"for i in $(seq {times}); do cat {log}; done | {PY} -m warmer sample import - "
            f"-o {tmp / 'w10.parquet'} --format combined"
        )
        wall, rss = run(cmd, shell=True)
        print(
            f"warmer {times}M lines via stdin: {wall:.1f} s, peak RSS {rss:.0f} MiB "
            f"(1M: {w_rss:.0f} MiB; ratio {rss / w_rss:.2f})"
        )
        ok &= rss <= 1.5 * w_rss
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
