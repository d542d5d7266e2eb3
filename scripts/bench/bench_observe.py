"""Benchmarks of the observe stage (issue 4), each against its alternative in the same run.

1. ``parse``: cost of parsing one ``Cache-Status`` header, in µs — warmer's parser as the
   replay sees it (values repeat, memoised), warmer's parser on never-seen values, and the
   general Structured Field parsers ``http-sf`` and ``http-sfv`` when installed, on the
   same values (target: ≤ 2 µs per header, cold). Cold means every header distinct — more
   of them than the memo holds — in four realistic shapes; the legacy ``X-Cache``,
   ``X-Cache-Status`` and ``Age`` parsers are timed cold too.
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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

TYPICAL = [
    "l0; hit",
    "l1; hit, l0; fwd=uri-miss; stored",
    "l2; hit, l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored",
    "l2; fwd=uri-miss; stored, l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored",
    'OriginCache; hit; ttl=1100, "CDN Company Here"; hit; ttl=545',
    "ExampleCache; fwd=stale; fwd-status=304",
]

# Realistic shapes with a number or string in every member, so that every generated header
# (and every member of it) is distinct and no memo can help: the cold cost.
COLD_SHAPES = {
    "1 member 'l0; hit; ttl=N'": "l0; hit; ttl={0}",
    "3 members, candidate-style": (
        "l0; fwd=uri-miss; ttl={0}, l1; hit; ttl={1}, l2; fwd=miss; stored; ttl={2}"
    ),
    "2 members, CDN-style with strings": (
        'ExampleCDN; hit; ttl={0}, "Origin Cache"; fwd=uri-miss; detail="x{1}"'
    ),
    "3 members, RFC 9211 §2 chain": (
        "ReverseProxyCache; hit; ttl={0}, ForwardProxyCache; fwd=uri-miss; collapsed; stored; "
        "ttl={1}, BrowserCache; fwd=uri-miss; fwd-status={2}"
    ),
}


def distinct_headers(shape: str, count: int) -> list[str]:
    """``count`` different values of one shape (numbers never repeat across members)."""
    return [shape.format(3 * i, 3 * i + 1, 3 * i + 2) for i in range(count)]


# --------------------------------------------------------------------------- parse


def per_call_us(fn: Callable[[], object], number: int) -> float:
    """Best of 7 repeats, in µs per call, on this thread's CPU clock.

    The machine is shared: wall time would also count the slices other processes take.
    """
    timer = timeit.Timer(fn, timer=time.thread_time)
    return min(timer.repeat(number=number, repeat=7)) / number * 1e6


def competitors() -> list[tuple[str, Callable[[bytes], object]]]:
    """The general Structured Field parsers installed (``pip install -e .[bench]``)."""
    found: list[tuple[str, Callable[[bytes], object]]] = []
    if importlib.util.find_spec("http_sf"):
        import http_sf

        found.append((f"http-sf {http_sf.__version__}", lambda b: http_sf.parse(b, tltype="list")))
    if importlib.util.find_spec("http_sfv"):
        import http_sfv

        found.append((f"http-sfv {http_sfv.__version__}", lambda b: http_sfv.List().parse(b)))
    if not found:
        print("http-sf / http-sfv not installed: no competitor in this run")
    return found


def time_each(parse: Callable[[T], object], values: Sequence[T]) -> float:
    """µs per value, parsing every value of ``values`` once per repeat."""

    def run() -> None:
        for value in values:
            parse(value)

    return per_call_us(run, 1) / len(values)


def bench_parse(number: int) -> None:
    from warmer.observe.parsers import cache_status

    parse = cache_status.parse_cache_status
    compiled = cache_status._parse_compiled is not cache_status._no_compiled_path
    others = competitors()
    print("\nCache-Status parse, µs per header, best of 7 (thread CPU time)")
    print(f"compiled common path: {'built' if compiled else 'NOT built (no C compiler?)'}")
    print(f"{'headers':40} {'warmer':>8} {'Python':>8} " + " ".join(f"{n:>14}" for n, _ in others))
    stream = [TYPICAL[i % len(TYPICAL)] for i in range(number)]
    parse.cache_clear()
    row("6 typical values cycled, memoised", time_each(parse, stream), None, others, stream)
    for label, shape in COLD_SHAPES.items():
        # more distinct values than the memo holds: every call misses it, as cold as it gets
        headers = distinct_headers(shape, max(number // 4, 20_000))
        parse.cache_clear()
        cold = time_each(parse, headers)
        with python_only(cache_status):
            parse.cache_clear()
            python = time_each(parse, headers)
        row(f"cold: {label}", cold, python, others, headers)
    print("(warmer: as installed; Python: the same parser with the compiled path switched off;")
    print(" ratio: each competitor's time / warmer's)")


@contextlib.contextmanager
def python_only(module: Any) -> Iterator[None]:
    """Run ``cache_status`` without its compiled common path (what a build without a C
    compiler runs)."""
    saved = module._parse_compiled
    module._parse_compiled = module._no_compiled_path
    try:
        yield
    finally:
        module._parse_compiled = saved


def row(
    label: str,
    ours: float,
    python: float | None,
    others: list[tuple[str, Callable[[bytes], object]]],
    values: list[str],
) -> None:
    encoded = [v.encode() for v in values]
    theirs = [time_each(parse, encoded) for _, parse in others]
    ratios = " ".join(f"{t / ours:5.1f}×" for t in theirs)
    py = f"{python:8.2f}" if python is not None else " " * 8
    print(f"{label[:40]:40} {ours:8.2f} {py} " + " ".join(f"{t:14.2f}" for t in theirs), end="")
    print(f"  {ratios}" if ratios else "")


def bench_legacy(number: int) -> None:
    """Cold cost of the pre-RFC 9211 headers' parsers (X-Cache is memoised like Cache-Status)."""
    from warmer.observe.parsers.legacy import age_outcome, parse_x_cache, parse_x_cache_status

    x_cache = [f"MISS from edge-{i}, HIT from shield-{i}" for i in range(number)]
    parse_x_cache.cache_clear()
    statuses = ["HIT", "MISS", "EXPIRED", "BYPASS", " stale "] * (number // 5)
    ages = [str(i) for i in range(number)]
    print("\nlegacy headers, µs per value, best of 7 (thread CPU time)")
    for label, parse, values in (
        ("X-Cache 'MISS from edge-N, HIT from shield-N', cold", parse_x_cache, x_cache),
        ("X-Cache-Status (nginx: no memo needed)", parse_x_cache_status, statuses),
        ("Age, cold", age_outcome, ages),
    ):
        print(f"  {label:55} {time_each(parse, values):6.2f}")


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
        bench_legacy(args.number)
    if args.which in ("replay", "all"):
        bench_replay(args.requests, args.rounds, args.concurrency)


if __name__ == "__main__":
    main()
