"""Replay the bundled demo sample against every demo scenario and print the gate's figures.

What the bundled warmer.toml thresholds were tuned with, before the replay stage existed:
warm on the first 80 % (by time) of traffic_samples/demo.jsonl.gz, settle 2 s, verify on
the rest; GET/HEAD only, recorded order, as fast as ``--concurrency`` allows (async httpx).
Verify-phase figures: L0 from Cache-Status, L1/L2 from Redis INFO, backend from /metrics.

    .venv/bin/python scripts/bench/candidate_scenarios.py [--scenario NAME] [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import time
from pathlib import Path

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from warmer.demo.scenarios import SCENARIOS, DemoStack, bundled_sample, scenario

SAFE = ("GET", "HEAD")


def load(path: Path, limit: int | None) -> tuple[list[tuple[str, str]], int]:
    """(method, target) of the safe requests and the index where verify starts."""
    rows = []
    with gzip.open(path, "rt") as handle:
        next(handle)
        for line in handle:
            record = json.loads(line)
            if record["method"] in SAFE:
                rows.append((record["ts"], record["method"], record["target"]))
    rows = rows[:limit] if limit else rows
    split = rows[0][0] + 0.8 * (rows[-1][0] - rows[0][0])
    warm = sum(1 for ts, _, _ in rows if ts < split)
    return [(method, target) for _, method, target in rows], warm


async def replay(base: str, requests: list[tuple[str, str]], concurrency: int) -> list[tuple[str, float, int]]:
    """Send every request; (cache-status, seconds, status) per request in completion order."""
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    out: list[tuple[str, float, int]] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                method, target = queue.get_nowait()
                started = time.perf_counter()
                response = await client.request(method, target)
                out.append((response.headers.get("cache-status", ""), time.perf_counter() - started, response.status_code))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


def info(url: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    stats = client.info("stats")
    keys = client.dbsize()
    client.close()
    return {"hits": stats["keyspace_hits"], "misses": stats["keyspace_misses"], "evicted": stats["evicted_keys"], "keys": keys}


def backend_requests(metrics_url: str) -> float:
    text = httpx.get(metrics_url).text
    for family in text_string_to_metric_families(text):
        if family.name == "candidate_backend_requests":
            return family.samples[0].value
    raise RuntimeError("no backend counter")


def l0_counts(metrics_url: str) -> dict[str, float]:
    found = {}
    for family in text_string_to_metric_families(httpx.get(metrics_url).text):
        for sample in family.samples:
            if sample.labels.get("tier") == "l0" and sample.name in (
                "candidate_cache_evictions_total", "candidate_cache_expirations_total"
            ):
                found[sample.name.split("_")[2]] = sample.value
    return found


def run(name: str, requests: list[tuple[str, str]], warm: int, concurrency: int) -> dict[str, object]:
    with DemoStack(scenario(name)) as stack:
        env = stack.env()
        started = time.perf_counter()
        asyncio.run(replay(stack.target, requests[:warm], concurrency))
        warm_s = time.perf_counter() - started
        time.sleep(2.0)
        before = {tier: info(env[f"WARMER_DEMO_{tier.upper()}_URL"]) for tier in ("l1", "l2")}
        backend0, l0_before = backend_requests(env["WARMER_DEMO_METRICS_URL"]), l0_counts(env["WARMER_DEMO_METRICS_URL"])
        started = time.perf_counter()
        results = asyncio.run(replay(stack.target, requests[warm:], concurrency))
        verify_s = time.perf_counter() - started
        after = {tier: info(env[f"WARMER_DEMO_{tier.upper()}_URL"]) for tier in ("l1", "l2")}
        backend = backend_requests(env["WARMER_DEMO_METRICS_URL"]) - backend0
        l0_after = l0_counts(env["WARMER_DEMO_METRICS_URL"])
    l0_hits = sum(1 for cs, _, _ in results if cs.startswith("l0; hit"))
    l0_lookups = sum(1 for cs, _, _ in results if "fwd=bypass" not in cs and "fwd=method" not in cs)
    served = sum(1 for cs, _, _ in results if "hit" in cs.split(",")[0])
    figures: dict[str, object] = {"scenario": name, "warm_rps": round(warm / warm_s), "verify_rps": round(len(results) / verify_s)}
    figures["hit_rate.l0"] = round(l0_hits / l0_lookups, 3)
    for tier in ("l1", "l2"):
        hits = after[tier]["hits"] - before[tier]["hits"]
        lookups = hits + after[tier]["misses"] - before[tier]["misses"]
        figures[f"hit_rate.{tier}"] = round(hits / lookups, 3) if lookups else None
        figures[f"{tier}.keys"] = after[tier]["keys"]
        figures[f"{tier}.evictions"] = after[tier]["evicted"] - before[tier]["evicted"]
    figures["hit_rate.effective(cacheable)"] = round(served / l0_lookups, 3)
    figures["backend.offload"] = round(1 - backend / len(results), 3)
    figures["l0.evictions"] = l0_after["evictions"] - l0_before["evictions"]
    figures["l0.expirations"] = l0_after["expirations"] - l0_before["expirations"]
    latencies = sorted(seconds for _, seconds, _ in results)
    figures["latency.p99_ms"] = round(latencies[int(len(latencies) * 0.99)] * 1000, 1)
    figures["errors"] = sum(1 for _, _, status in results if status >= 500)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--limit", type=int)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    sample = bundled_sample()
    assert sample is not None, "run from a source checkout"
    requests, warm = load(sample, args.limit)
    print(f"{len(requests)} safe requests, warm {warm}, verify {len(requests) - warm}")
    for name in args.scenario or list(SCENARIOS):
        print(json.dumps(run(name, requests, warm, args.concurrency)), flush=True)


if __name__ == "__main__":
    main()
