"""Backend protection: warming at ``pacing = "max"`` with and without ``[replay] protect``.

Issue 13's target: against the reference candidate whose backend is given a capacity
(``backend_capacity_rps``: past it the origin answers 503 at once), warming at max pace
with protection keeps the backend within 10 % of its limit; without protection it
exceeds it. Both runs are fresh ``warmer gate`` processes on fresh healthy demo stacks,
chronological order (the backend load then varies with the miss share), the backend
sampled every 0.5 s; the warm phase's highest per-interval backend rate is compared with
the limit.

    .venv/bin/python scripts/bench/bench_protect.py [--limit 600] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _demo_gate import gate, phase  # noqa: E402


def show(name: str, report: dict[str, Any], limit: float) -> None:
    warm = phase(report, "warm")
    backend = warm["backend"]
    peak = backend["rps_peak"] or 0.0
    control = report.get("warming") or {}
    print(f"  {name:12} warm {warm['requests']:,} requests in {warm['duration_s']:.1f} s; "
          f"backend peak {peak:,.0f}/s = {peak / limit:.2f} x limit, mean "
          f"{backend['rps_mean'] or 0:,.0f}/s; 503 {warm['status_classes'].get('5xx', 0):,}; "
          f"controller: {control.get('decisions', 0)} decisions, "
          f"{control.get('decreases', 0)} cuts")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=float, default=600.0, help="backend capacity, req/s")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    candidate = {"backend_capacity_rps": args.limit}
    observe = "interval_s = 0.5\n"
    protect = f'protect = ["backend.rps <= {args.limit:g}"]\n'
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            print(f"round {round_ + 1} (load {os.getloadavg()[0]:.1f}), backend limit "
                  f"{args.limit:g} req/s")  # fmt: skip
            bare = gate(Path(tmp) / f"bare-{round_}", observe=observe, candidate=candidate)
            show("unprotected", bare, args.limit)
            guarded = gate(
                Path(tmp) / f"guarded-{round_}", replay=protect, observe=observe,
                candidate=candidate,
            )  # fmt: skip
            show("protected", guarded, args.limit)
            peak = phase(guarded, "warm")["backend"]["rps_peak"] or 0.0
            over = phase(bare, "warm")["backend"]["rps_peak"] or 0.0
            print(f"  protected peak / limit {peak / args.limit:.2f} [<= 1.10]; unprotected "
                  f"{over / args.limit:.2f} [> 1]")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
