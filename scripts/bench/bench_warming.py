"""Warming cost: hot-first against a full chronological warm on the bundled sample, one run.

Issue 13's targets, on the healthy demo candidate with the bundled ``warmer.toml`` (pacing
max, concurrency 32): ``hot-first`` reaches a verify effective hit rate within 1 point of a
full chronological warm with at most 20 % of its requests; the backend sees at most 25 %
of the requests it sees during chronological warming; L0's verify hit rate is at least
chronological warming's. Each run is a fresh ``warmer gate`` process against a fresh stack
(cold caches); ``--repeat N`` alternates the two orders N times and prints every run.

    .venv/bin/python scripts/bench/bench_warming.py [--repeat 1]
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

from _demo_gate import gate, phase, tier_rate  # noqa: E402


def figures(report: dict[str, Any]) -> dict[str, float]:
    warm, verify = phase(report, "warm"), phase(report, "verify")
    return {
        "warm_requests": float(warm["requests"]),
        "warm_backend": float(warm["backend"]["requests"] or 0),
        "effective": float(verify["effective_hit_rate"] or 0),
        "l0": float(tier_rate(report, "verify", "l0") or 0),
        "warm_s": float(warm["duration_s"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            chrono = figures(gate(Path(tmp) / f"chrono-{round_}"))
            report = gate(Path(tmp) / f"hot-{round_}", args=("--order", "hot-first"))
            hot = figures(report)
            print(f"round {round_ + 1} (load {os.getloadavg()[0]:.1f})")
            print(f"  hot-first plan: {report['plan']['warm_plan']}")
            for name, v in (("chronological", chrono), ("hot-first", hot)):
                print(f"  {name:14} warm {v['warm_requests']:>7,.0f} requests in "
                      f"{v['warm_s']:5.1f} s, backend {v['warm_backend']:>7,.0f}; "
                      f"verify effective {v['effective']:.4f}, L0 {v['l0']:.4f}")  # fmt: skip
            requests = hot["warm_requests"] / chrono["warm_requests"]
            backend = hot["warm_backend"] / chrono["warm_backend"]
            gap = (chrono["effective"] - hot["effective"]) * 100
            l0 = hot["l0"] / chrono["l0"]
            print(f"  requests ratio {requests:.3f} [<= 0.20]; backend ratio {backend:.3f} "
                  f"[<= 0.25]; effective {gap:+.2f} points below chronological [<= 1]; "
                  f"L0 hot-first / chronological {l0:.3f} [>= 1]")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
