"""Benchmark the replay stage: throughput vs Locust, pacing precision, recorded speed-up, RSS.

Run from the repository root::

    .venv/bin/python scripts/bench/bench_replay.py [--only throughput,pacing,recorded,memory]
    .venv/bin/python scripts/bench/bench_replay.py --only schema [--baseline main]

Everything runs against one nginx started here (temp config, ``worker_processes 1``,
a small static response, pinned to CPU 1). Throughput clients are pinned with
``taskset``: one-core runs use CPU 0, the several-process run CPUs 0-1; the pacing runs
are not pinned (a pinned paced client waits for whatever else the shared machine runs on
that core, which is the scheduler's lateness, not the pacer's). Samples are generated into
``bench-data/`` (gitignored). The script prints each figure and the ratios.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench-data"
PY = sys.executable

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log {root}/error.log crit;
pid {root}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path {root}; proxy_temp_path {root};
    fastcgi_temp_path {root}; uwsgi_temp_path {root}; scgi_temp_path {root};
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ add_header X-Cache HIT; add_header Age 3; add_header ETag '"v1"';
                     add_header Cache-Control "public, max-age=60";
                     add_header Last-Modified "Wed, 30 Nov 2026 10:00:00 GMT";
                     return 200 "warm\\n"; }}
    }}
}}
"""

LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

PATHS = [f"/item/{i}" for i in range(1000)]

class Replay(FastHttpUser):
    wait_time = constant(0)
    i = 0

    @task
    def get(self):
        Replay.i += 1
        self.client.get(PATHS[Replay.i % 1000], name="/item")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_nginx(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=tmp, port=port))
    proc = subprocess.Popen(
        ["taskset", "-c", "1", "/usr/sbin/nginx", "-p", str(tmp), "-c", str(conf)]
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


def make_sample(name: str, count: int, span_s: float | None = None) -> Path:
    """A synthetic Parquet sample of ``count`` GETs over 1000 keys (Zipf-ish), cached on disk."""
    path = DATA / f"{name}.parquet"
    if path.exists():
        return path
    import numpy as np
    import pyarrow as pa

    from warmer.model.sample import SampleMeta
    from warmer.sample.store import SampleWriter

    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    with SampleWriter(path) as writer:
        done = 0
        start = 1_700_000_000.0
        while done < count:
            n = min(500_000, count - done)
            keys = np.minimum(rng.zipf(1.3, n), 1000) - 1
            targets = [f"/item/{k}" for k in keys.tolist()]
            if span_s is None:
                ts = start + np.arange(done, done + n) * 0.001
            else:
                ts = start + np.sort(rng.uniform(0, span_s, n))
                ts[0] = start if done == 0 else ts[0]
            table = pa.table({"ts": ts, "method": ["GET"] * n, "target": targets, "key": targets})
            writer.write_batch(table)
            done += n
        writer.close(SampleMeta(requests=count))
    return path


TIME = ["/usr/bin/time", "-f", "TIME %U %S %M"]


def parse_time(stderr: str) -> dict[str, float]:
    """CPU seconds (user + sys, children included) and max RSS from ``/usr/bin/time``."""
    for line in stderr.splitlines():
        if line.startswith("TIME "):
            user, system, rss = line.split()[1:]
            return {"cpu_s": float(user) + float(system), "maxrss_mb": int(rss) / 1024}
    return {}


def warmer_replay(args: list[str], cpus: str, cwd: Path = ROOT) -> dict[str, Any]:
    """``warmer replay`` of the tree at ``cwd`` (``python -m`` imports that tree's code)."""
    cmd = ["taskset", "-c", cpus, *TIME]
    cmd += [PY, "-m", "warmer", "replay", *args, "--no-progress", "--json"]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"warmer replay failed ({done.returncode}): {done.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(done.stdout)
    data.update(parse_time(done.stderr))
    return data


def locust_rate(url: str, seconds: int, tmp: Path) -> tuple[float, float]:
    """Locust's requests/s, and its requests per CPU-second."""
    locustfile = tmp / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    prefix = tmp / "locust"
    done = subprocess.run(
        ["taskset", "-c", "0", *TIME, str(Path(PY).with_name("locust")), "-f", str(locustfile),
         "--headless", "-u", "64", "-r", "64", "-t", f"{seconds}s", "--host", url,
         "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
        cwd=tmp, capture_output=True, text=True, check=False,
    )  # fmt: skip
    cpu = parse_time(done.stderr)["cpu_s"]
    with open(f"{prefix}_stats.csv") as fh:
        for row in csv.DictReader(fh):
            if row["Name"] == "Aggregated":
                return float(row["Requests/s"]), int(row["Request Count"]) / cpu
    raise SystemExit("locust wrote no aggregated stats")


def results_rate(path: Path) -> tuple[float, float]:
    """Achieved rate between the first and last send, and the p99 |sent - scheduled| in ms."""
    import numpy as np

    from warmer.replay import open_results

    table = open_results(path).to_table(["sent_s", "scheduled_s"])
    sent = np.sort(table.column("sent_s").to_numpy())
    lag = np.abs(table.column("sent_s").to_numpy() - table.column("scheduled_s").to_numpy())
    return (len(sent) - 1) / (sent[-1] - sent[0]), float(np.percentile(lag, 99) * 1000)


def bench_throughput(url: str, tmp: Path, seconds: int) -> None:
    sample = make_sample("replay-2m", 2_000_000)
    common = [str(sample), "--target", url, "--concurrency", "64", "--duration", f"{seconds}s"]
    one = warmer_replay([*common, "-o", str(tmp / "one.parquet")], "0")
    loc, loc_cpu = locust_rate(url, seconds, tmp)
    two = warmer_replay([*common, "--processes", "2", "-o", str(tmp / "two.parquet")], "0,1")
    one_cpu, two_cpu = one["sent"] / one["cpu_s"], two["sent"] / two["cpu_s"]
    print("throughput  (wall req/s | requests per client CPU-second, startup included)")
    print(
        f"  fast engine, 1 core, 64 in flight, recording: {one['rate']:>9,.0f} | {one_cpu:>9,.0f}"
    )
    print(f"  locust FastHttpUser, 1 core, 64 users:          {loc:>9,.0f} | {loc_cpu:>9,.0f}")
    print(
        f"  fast engine, 2 processes on 2 cores:            {two['rate']:>9,.0f} | {two_cpu:>9,.0f}"
    )
    print(f"ratio fast / locust: wall {one['rate'] / loc:.2f}x, per CPU-second "
          f"{one_cpu / loc_cpu:.2f}x   (target >= 3)")  # fmt: skip
    print(f"ratio 2 processes / 1 process (wall): {two['rate'] / one['rate']:.2f}x   "
          "(target >= 1.7)")  # fmt: skip


def bench_pacing(url: str, tmp: Path) -> None:
    sample = make_sample("replay-2m", 2_000_000)
    out = tmp / "pacing.parquet"
    args = [str(sample), "--target", url, "--pacing", "rate", "--rate", "2000",
            "--duration", "30s", "-o", str(out)]  # fmt: skip
    summary = warmer_replay(args, "0,1")
    rate, p99 = results_rate(out)
    print(f"pacing      rate 2000/s for 30 s: sent {summary['sent']}, achieved {rate:,.1f} req/s "
          f"({(rate / 2000 - 1) * 100:+.2f} %, target within 1 %)")  # fmt: skip
    print(f"pacing      p99 |actual - scheduled| send: {p99:.3f} ms (target <= 2 ms); "
          f"summary send_lag p99 {summary['send_lag_ms'].get('p99')} ms")  # fmt: skip


def bench_recorded(url: str, tmp: Path) -> None:
    sample = make_sample("replay-recorded-200s", 40_000, span_s=200.0)
    out = tmp / "recorded.parquet"
    args = [str(sample), "--target", url, "--pacing", "recorded", "--speed", "10", "-o", str(out)]
    summary = warmer_replay(args, "0,1")
    from warmer.replay import open_results
    from warmer.sample.store import open_sample

    ts = open_sample(sample).to_table(["ts"]).column("ts").to_pylist()
    expected = (max(ts) - min(ts)) / 10
    sent = open_results(out).to_table(["sent_s"]).column("sent_s").to_pylist()
    actual = max(sent) - min(sent)
    print(f"recorded    10x speed: expected {expected:.3f} s, took {actual:.3f} s "
          f"({(actual / expected - 1) * 100:+.2f} %, target within 2 %); "
          f"{summary['sent']} requests")  # fmt: skip


def merge_base() -> str:
    """Where this branch left main: the schema it replaces."""
    done = subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip()[:12]


def baseline_tree(ref: str, tmp: Path) -> Path:
    """A checkout of ``ref`` (the schema before this one) to run side by side."""
    where = tmp / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(where), ref], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    return where


def bench_schema(url: str, tmp: Path, seconds: int, ref: str, rounds: int = 5) -> None:
    """Replay throughput recording the current results schema against ``ref``'s, alternating
    runs on the same core so load drifts hit both alike."""
    sample = make_sample("replay-2m", 2_000_000)
    base = baseline_tree(ref, tmp)
    try:
        rates: dict[str, list[float]] = {"current": [], ref: []}
        per_cpu: dict[str, list[float]] = {"current": [], ref: []}
        for round_ in range(rounds):
            for name, cwd in (("current", ROOT), (ref, base)):
                out = tmp / f"schema-{round_}-{len(rates[name])}.parquet"
                args = [str(sample), "--target", url, "--concurrency", "64",
                        "--duration", f"{seconds}s", "-o", str(out)]  # fmt: skip
                run = warmer_replay(args, "0", cwd=cwd)
                rates[name].append(round(run["rate"]))
                per_cpu[name].append(round(run["sent"] / run["cpu_s"]))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                       check=False, capture_output=True)  # fmt: skip
    print("schema      (fast engine, 1 core, 64 in flight; medians of "
          f"{rounds} alternating runs: wall req/s | requests per client CPU-second)")  # fmt: skip
    for name, label in (("current", "results schema 2 (this tree)"), (ref, f"schema 1 ({ref})")):
        print(
            f"  {label:<32} {statistics.median(rates[name]):>9,.0f} | "
            f"{statistics.median(per_cpu[name]):>9,.0f}   {rates[name]} | {per_cpu[name]}"
        )
    wall = statistics.median(rates["current"]) / statistics.median(rates[ref])
    cpu = statistics.median(per_cpu["current"]) / statistics.median(per_cpu[ref])
    print(f"ratio schema 2 / schema 1: wall {wall:.3f}, per CPU-second {cpu:.3f}   "
          "(target >= 0.95)")  # fmt: skip


def bench_memory(url: str, tmp: Path) -> None:
    sample = make_sample("replay-5m", 5_000_000)
    args = [str(sample), "--target", url, "--concurrency", "64", "-o", str(tmp / "mem.parquet")]
    summary = warmer_replay(args, "0")
    print(f"memory      5M-request sample replayed at max pace: {summary['sent']:,} sent in "
          f"{summary['duration_s']:.0f} s, max RSS {summary['maxrss_mb']:.0f} MB "
          "(target < 300 MB)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="throughput,pacing,recorded,memory")
    parser.add_argument("--seconds", type=int, default=15, help="throughput run length")
    parser.add_argument(
        "--baseline",
        default=None,
        help="schema: git ref to compare (default: merge-base with main)",
    )
    args = parser.parse_args()
    if not shutil.which("taskset") or not os.path.exists("/usr/sbin/nginx"):
        raise SystemExit("needs taskset and /usr/sbin/nginx")
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        nginx, url = start_nginx(tmp)
        try:
            for section in args.only.split(","):
                if section == "throughput":
                    bench_throughput(url, tmp, args.seconds)
                elif section == "schema":
                    bench_schema(url, tmp, args.seconds, args.baseline or merge_base())
                else:
                    globals()[f"bench_{section}"](url, tmp)
        finally:
            nginx.terminate()
            nginx.wait()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
