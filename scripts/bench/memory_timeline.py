"""Where a gate's memory goes: RSS over one run, by the function running at the time.

Run from the repository root::

    .venv/bin/python scripts/bench/memory_timeline.py [--requests 2000000]

Runs ``warmer gate`` in this process on the ``bench_memory.py`` sample and configuration,
against the bench's nginx, while a thread samples the process's RSS and Arrow's allocated
bytes every 50 ms with the main thread's innermost warmer frames. Prints the peak and,
for the conclusion (reading results, figures, inference), one line each time the running
function changes: the figures behind docs/benchmarks.md's memory section. The sampling
thread and the in-process run add a little to the peak against ``/usr/bin/time``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_memory import GATE_TOML, make_sample  # noqa: E402
from bench_replay import start_nginx  # noqa: E402

WATCHED = ("conclude", "session", "inference", "headers", "results.to_table", "results.upgrade")
"""Frames of the conclusion (the replay writer shares the `results` module: not listed)."""


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def innermost(frame: FrameType | None, depth: int = 3) -> str:
    """The ``depth`` innermost warmer frames, as ``module.function:line``."""
    names: list[str] = []
    while frame is not None and len(names) < depth:
        code = frame.f_code
        if "/warmer/" in code.co_filename and "site-packages" not in code.co_filename:
            names.append(f"{Path(code.co_filename).stem}.{code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2_000_000)
    options = parser.parse_args()
    import pyarrow as pa

    sample = make_sample(options.requests)
    log: list[tuple[float, float, str]] = []
    done = threading.Event()

    def watch() -> None:
        main_thread = threading.main_thread().ident
        while not done.is_set():
            frame = sys._current_frames().get(main_thread or 0)
            log.append((rss_mb(), pa.total_allocated_bytes() / 2**20, innermost(frame)))
            time.sleep(0.05)

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        nginx, url = start_nginx(tmp)
        (tmp / "warmer.toml").write_text(GATE_TOML.format(url=url, sample=sample))
        os.chdir(tmp)
        threading.Thread(target=watch, daemon=True).start()
        from warmer.cli.main import cli

        try:
            cli.main(["gate", "--run-dir", str(tmp / "run")], standalone_mode=False)
        except SystemExit:
            pass
        finally:
            done.set()
            nginx.terminate()
    peak = max(log, key=lambda entry: entry[0])
    print(f"peak RSS {peak[0]:.0f} MB (Arrow {peak[1]:.0f} MB) in {peak[2]}")
    print(f"{'RSS MB':>7} {'Arrow MB':>9}  where")
    last = None
    for rss, arrow, where in log:
        if any(part in where for part in WATCHED) and where != last:
            print(f"{rss:7.0f} {arrow:9.0f}  {where}")
            last = where


if __name__ == "__main__":
    main()
