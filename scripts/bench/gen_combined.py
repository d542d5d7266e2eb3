"""Generate a reproducible nginx combined access log of N lines for the import benchmark."""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

_UAS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
    "curl/8.4.0",
)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _paths(rng: random.Random, n_keys: int) -> list[str]:
    kinds = (
        "/api/v1/products/{}",
        "/static/img/{}.webp",
        "/catalog/{}?page=2&sort=price",
        "/search?q=item{}&utm_source=mail",
        "/api/v1/users/{}/cart?token=s3cr3t{}",
    )
    return [rng.choice(kinds).format(i, i) for i in range(n_keys)]


def generate(path: Path, lines: int, seed: int = 1, with_timing: bool = False) -> None:
    """Write ``lines`` combined-format lines (optionally with request_time and cache status)."""
    rng = random.Random(seed)
    paths = _paths(rng, max(1000, lines // 20))
    cum = list(itertools.accumulate(1.0 / (i + 1) ** 0.9 for i in range(len(paths))))
    t0 = 1_764_000_000
    clients = [
        f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in rng.sample(range(1 << 24), 20000)
    ]
    with path.open("w", encoding="utf-8") as out:
        chunk = []
        for i in range(lines):
            t = time.gmtime(t0 + i // 200)
            stamp = (
                f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
            )
            target = rng.choices(paths, cum_weights=cum)[0]
            ip = clients[int(rng.paretovariate(1.2)) % len(clients)]
            ref = (
                "https://shop.example.com/catalog/landing?campaign=winter-sale-2025&ref=newsletter"
            )
            line = (
                f'{ip} - - [{stamp}] "GET {target} HTTP/1.1" 200 {rng.randrange(200, 90000)} '
                f'"{ref}" "{rng.choice(_UAS)}"'
            )
            if with_timing:
                line += f" {rng.random():.3f} {rng.choice(('HIT', 'MISS', 'EXPIRED', '-'))}"
            chunk.append(line)
            if len(chunk) >= 10000:
                out.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            out.write("\n".join(chunk) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    generate(args.output, args.lines, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
