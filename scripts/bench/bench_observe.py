"""Benchmarks of the observe stage (issue 4), each against its alternative in the same run.

1. ``parse``: cost of parsing one ``Cache-Status`` header, in µs — warmer's parser as the
   replay sees it (values repeat, memoised), warmer's parser on never-seen values, and the
   general Structured Field parsers ``http-sf`` and ``http-sfv`` when installed (target:
   ≤ 2 µs per typical header).
2. ``replay``: replay throughput against the reference candidate (L0 in-process, L1 Redis on
   a Unix socket, L2 Redis over TCP, Prometheus metrics) with every kind of observer sampling
   once a second (Redis ×2, Memcached, the candidate's /metrics, PromQL against a real
   Prometheus) versus no observers; runs alternate A/B so machine load hits both alike
   (target: within 3 %). Falls back to a CPU-bound asyncio loop when the replay engine is
   not importable, and says so.

Usage::

    .venv/bin/python scripts/bench/bench_observe.py                 # both
    .venv/bin/python scripts/bench/bench_observe.py parse
    .venv/bin/python scripts/bench/bench_observe.py replay --requests 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable, Iterator
from pathlib import Path

TYPICAL = [
    "l0; hit",
    "l1; hit, l0; fwd=uri-miss; stored",
    "l2; hit, l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored",
    "l2; fwd=uri-miss; stored, l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored",
    'OriginCache; hit; ttl=1100, "CDN Company Here"; hit; ttl=545',
    "ExampleCache; fwd=stale; fwd-status=304",
]


# --------------------------------------------------------------------------- parse


def per_call_us(fn: Callable[[], object], number: int) -> float:
    """Best of 5 repeats, in µs per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def bench_parse(number: int) -> None:
    from warmer.observe.parsers.cache_status import parse_cache_status

    uncached = parse_cache_status.__wrapped__
    rows: list[tuple[str, float]] = []
    headers = TYPICAL
    stream = [headers[i % len(headers)] for i in range(number)]

    def memoised() -> None:
        for h in stream:
            parse_cache_status(h)

    rows.append(("warmer, memoised (replay: values repeat)", per_call_us(memoised, 1) / number))

    def fresh() -> None:
        for h in stream:
            uncached(h)

    rows.append(("warmer, never-seen values (no memo)", per_call_us(fresh, 1) / number))
    rows.append(
        (
            "warmer, never-seen, one member 'l0; hit'",
            per_call_us(lambda: uncached("l0; hit"), number),
        )
    )
    encoded = [h.encode() for h in stream]
    if importlib.util.find_spec("http_sf"):
        import http_sf

        def general_sf() -> None:
            for b in encoded:
                http_sf.parse(b, tltype="list")

        rows.append(
            (
                f"http-sf {http_sf.__version__} parse(tltype=list)",
                per_call_us(general_sf, 1) / number,
            )
        )
    else:
        rows.append(("http-sf (not installed)", float("nan")))
    if importlib.util.find_spec("http_sfv"):
        import http_sfv

        def general_sfv() -> None:
            for b in encoded:
                http_sfv.List().parse(b)

        rows.append(
            (f"http-sfv {http_sfv.__version__} List().parse", per_call_us(general_sfv, 1) / number)
        )
    else:
        rows.append(("http-sfv (not installed)", float("nan")))
    base = rows[0][1]
    print(f"\nCache-Status parse, {len(headers)} typical headers cycled, {number} calls, best of 5")
    print(f"{'parser':55} {'µs/header':>10} {'× memoised':>11}")
    for name, us in rows:
        print(f"{name:55} {us:10.3f} {us / base:10.1f}×")


# --------------------------------------------------------------------------- replay


@contextlib.contextmanager
def stack(backend_ms: float) -> Iterator[dict[str, object]]:
    """Redis L1 (unix) + Redis L2 (tcp) + Memcached + candidate + Prometheus scraping it."""
    from warmer.demo.candidate.server import CandidateServer
    from warmer.demo.candidate.settings import CandidateSettings
    from warmer.demo.services import MemcachedServer, PrometheusServer, RedisServer

    with contextlib.ExitStack() as stack:
        l1 = stack.enter_context(RedisServer(unix_socket=True))
        l2 = stack.enter_context(RedisServer())
        mc = stack.enter_context(MemcachedServer())
        settings = CandidateSettings(
            l1_url=l1.url, l2_url=l2.url, backend_latency_ms=backend_ms, backend_jitter_ms=0.0
        )
        candidate = stack.enter_context(CandidateServer(settings))
        prom = stack.enter_context(PrometheusServer([candidate.address], scrape_interval_s=1.0))
        yield {"l1": l1, "l2": l2, "mc": mc, "candidate": candidate, "prom": prom}


def observers_for(servers: dict[str, object]) -> list[object]:
    from warmer.config import config_from_tree
    from warmer.observe.build import build_observers

    candidate, prom = servers["candidate"], servers["prom"]
    tree = {
        "tiers": {
            "l0": {
                "source": "prometheus",
                "url": candidate.metrics_url,  # type: ignore[attr-defined]
                "hits": 'candidate_cache_requests_total{tier="l0",result="hit"}',
                "misses": 'candidate_cache_requests_total{tier="l0",result="miss"}',
            },
            "l1": {"source": "redis", "url": servers["l1"].url},  # type: ignore[attr-defined]
            "l2": {"source": "redis", "url": servers["l2"].url},  # type: ignore[attr-defined]
            "mc": {"source": "memcached", "url": servers["mc"].address},  # type: ignore[attr-defined]
        },
        "backend": {
            "source": "promql",
            "url": prom.url,  # type: ignore[attr-defined]
            "requests": "sum(candidate_backend_requests_total)",
        },
    }
    built = build_observers(config_from_tree(tree, {}))
    for observer in built.live.values():
        observer.preflight()
    return list(built.live.values())


def records(n: int, keys: int) -> list[object]:
    from warmer.model.sample import SampleRecord

    return [
        SampleRecord(
            ts=i * 0.001,
            method="GET",
            target=f"/product/{i % keys}",
            key=f"GET /product/{i % keys}",
        )
        for i in range(n)
    ]


def one_replay(url: str, sample: list[object], concurrency: int, workdir: Path) -> float:
    """Requests per second of one replay at max pacing."""
    from warmer.replay.results import ResultsWriter
    from warmer.replay.run import ReplayPlan, replay

    plan = ReplayPlan(target=url, concurrency=concurrency, pacing="max")
    path = workdir / f"r{time.monotonic_ns()}.parquet"
    with ResultsWriter(path) as sink:
        started = time.perf_counter()
        summary = replay(sample, plan, sink)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
    path.unlink(missing_ok=True)
    assert summary.responses == len(sample), summary.errors
    return len(sample) / elapsed


def bench_replay(n: int, rounds: int, concurrency: int) -> None:
    from warmer.observe.sampler import Sampler

    if importlib.util.find_spec("warmer.replay.run") is None:
        bench_cpu_loop(rounds)
        return
    with stack(backend_ms=1.0) as servers, tempfile.TemporaryDirectory() as tmp:
        url = servers["candidate"].url  # type: ignore[attr-defined]
        observers = observers_for(servers)
        sample = records(n, keys=2000)
        one_replay(url, sample[:4000], concurrency, Path(tmp))  # warm every tier first
        without, with_ = [], []
        for _ in range(rounds):
            without.append(one_replay(url, sample, concurrency, Path(tmp)))
            sampler = Sampler(observers, interval_s=1.0)  # type: ignore[arg-type]
            with sampler:
                with_.append(one_replay(url, sample, concurrency, Path(tmp)))
            samples = len(sampler.timeline)
        wall_ms, cpu_ms = sampling_round_ms(observers)
    report_replay("replay of the reference candidate (fast engine)", n, without, with_, samples, 5)
    print(
        f"  one sampling round over the 5 observers: {wall_ms:.1f} ms wall, {cpu_ms:.1f} ms CPU "
        f"(CPU = {cpu_ms / 10:.2f} % of each 1 s interval: the GIL time replay could lose)"
    )


def sampling_round_ms(observers: list[object], rounds: int = 20) -> tuple[float, float]:
    """Median wall and CPU (this thread) milliseconds of one ``snapshot_all``."""
    from warmer.observe.sampler import Sampler

    sampler = Sampler(observers, interval_s=1.0)  # type: ignore[arg-type]
    wall, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.thread_time()
        sampler.snapshot_all()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def bench_cpu_loop(rounds: int) -> None:
    """Stand-in when the replay engine is missing: a CPU-bound asyncio loop's iterations/s."""
    import asyncio

    print("replay engine not importable: measuring a CPU-bound asyncio loop instead")

    async def spin(seconds: float) -> float:
        count, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            sum(range(200))
            count += 1
            if count % 100 == 0:
                await asyncio.sleep(0)
        return count / seconds

    report_replay(
        "CPU-bound asyncio loop", 0, [asyncio.run(spin(5)) for _ in range(rounds)], [], 0, 0
    )


def report_replay(
    what: str, n: int, without: list[float], with_: list[float], samples: int, observers: int
) -> None:
    a, b = statistics.median(without), statistics.median(with_) if with_ else float("nan")
    print(f"\n{what}: {n} requests per run, {len(without)} rounds alternating, median req/s")
    print(f"  without observers : {a:9.0f}   runs {', '.join(f'{x:.0f}' for x in without)}")
    print(f"  {observers} observers @1 s  : {b:9.0f}   runs {', '.join(f'{x:.0f}' for x in with_)}")
    print(f"  ratio with/without: {b / a:.3f} ({(b / a - 1) * 100:+.1f} %), {samples} samples")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", nargs="?", choices=["parse", "replay", "all"], default="all")
    parser.add_argument("--number", type=int, default=60_000, help="parse calls per repeat")
    parser.add_argument("--requests", type=int, default=20_000, help="requests per replay run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cpus")
    if args.which in ("parse", "all"):
        bench_parse(args.number)
    if args.which in ("replay", "all"):
        bench_replay(args.requests, args.rounds, args.concurrency)


if __name__ == "__main__":
    main()
