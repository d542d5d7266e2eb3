"""Benchmark the Locust engine: 2 workers vs 1, overhead vs plain Locust, master memory.

Run from the repository root::

    .venv/bin/python scripts/bench/bench_locust.py [--only scaling,overhead,memory]
        [--seconds 20] [--repeat 2]

Everything runs against one nginx started here (``worker_processes 1``, a small static
response), nothing pinned: on a 2-core machine the workers, nginx, warmer and the master
share the cores, which is what a one-machine run of the engine does.

- scaling: ``warmer replay --engine locust --workers 1`` and ``--workers 2`` (64 users,
  max pace, ``--seconds`` of sending), throughput from the results file (first to last
  send, so start-up is not counted).
- overhead: the same against plain Locust: ``locust --master --headless`` and the same
  number of ``locust --worker`` processes, a ``FastHttpUser`` getting the sample's paths,
  64 users, Locust's own requests/s. Runs alternate, best of ``--repeat`` each.
- memory: the whole 1M- and 10M-request samples at max pace with 2 workers; peak RSS
  (VmHWM) of the master and of warmer's process, read while they run.

CPU seconds per process role (warmer, master, workers, nginx) are read with psutil just
before each run ends, so the report also says where the time went.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from bench_replay import NGINX_CONF, PY, ROOT, free_port, make_sample

PLAIN_LOCUSTFILE = """
import random

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

PATHS = [f"/item/{i}" for i in range(1000)]

class Plain(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get(random.choice(PATHS), name="/item")
"""
USERS = 64


@contextlib.contextmanager
def nginx_running() -> Iterator[tuple[str, Path]]:
    """nginx on a free loopback port, not pinned (the workers need both cores): its URL
    and a scratch directory."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        port = free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=tmp, port=port))
        proc = subprocess.Popen(["/usr/sbin/nginx", "-p", str(tmp), "-c", str(conf)])
        time.sleep(0.5)
        try:
            yield f"http://127.0.0.1:{port}", tmp
        finally:
            proc.terminate()
            proc.wait()


class Watch:
    """Polls a process tree: last CPU seconds per role, peak RSS (VmHWM) per role."""

    def __init__(self, root: subprocess.Popen[Any], nginx: int | None = None) -> None:
        self.root = psutil.Process(root.pid)
        self.nginx = psutil.Process(nginx) if nginx else None
        self.cpu: dict[int, tuple[str, float]] = {}
        self.peak_mb: dict[str, float] = {}

    def poll(self) -> None:
        procs = [self.root]
        try:
            procs += self.root.children(recursive=True)
        except psutil.Error:
            return
        for proc in procs:
            try:
                role = _role(proc.cmdline())
                times = proc.cpu_times()
                self.cpu[proc.pid] = (role, times.user + times.system)
                hwm = _vm_hwm_mb(proc.pid)
            except (psutil.Error, OSError):
                continue
            self.peak_mb[role] = max(self.peak_mb.get(role, 0.0), hwm)

    def cpu_by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for role, seconds in self.cpu.values():
            out[role] = out.get(role, 0.0) + seconds
        return out


def _role(cmdline: list[str]) -> str:
    text = " ".join(cmdline)
    if "master.py" in text or ("--master" in cmdline and "--worker" not in cmdline):
        return "master"
    if "--worker" in cmdline:
        return "workers"
    return "warmer"


def _vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def follow(proc: subprocess.Popen[Any], watch: Watch) -> None:
    while proc.poll() is None:
        watch.poll()
        time.sleep(0.5)


def warmer_run(
    url: str, sample: Path, workers: int, seconds: int | None, tmp: Path
) -> dict[str, Any]:
    out = tmp / f"warmer-{workers}.parquet"
    cmd = [PY, "-m", "warmer", "replay", str(sample), "--target", url, "--engine", "locust",
           "--workers", str(workers), "--concurrency", str(USERS), "-o", str(out),
           "--no-progress", "--json"]  # fmt: skip
    if seconds is not None:
        cmd += ["--duration", f"{seconds}s"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watch = Watch(proc)
    follow(proc, watch)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"warmer replay failed ({proc.returncode}): {stderr.decode()[-2000:]}")
    summary = json.loads(stdout)
    return {"rate": results_rate(out), "sent": summary["sent"], "cpu": watch.cpu_by_role(),
            "peak_mb": watch.peak_mb}  # fmt: skip


def results_rate(path: Path) -> float:
    """Requests per second between the first and the last send."""
    from warmer.replay import open_results

    sent = open_results(path).to_table(["sent_s"]).column("sent_s").to_numpy()
    return (len(sent) - 1) / (sent.max() - sent.min())


def plain_run(url: str, workers: int, seconds: int, tmp: Path) -> dict[str, Any]:
    """Plain Locust: a headless master and ``workers`` workers, FastHttpUser, 64 users."""
    locustfile = tmp / "plain.py"
    locustfile.write_text(PLAIN_LOCUSTFILE)
    prefix = tmp / f"plain-{workers}"
    port = free_port()
    locust = str(Path(PY).with_name("locust"))
    master = subprocess.Popen(
        [locust, "-f", str(locustfile), "--master", "--headless", "-u", str(USERS), "-r",
         str(USERS), "-t", f"{seconds}s", "--expect-workers", str(workers), "--host", url,
         "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--csv",
         str(prefix), "--only-summary", "--loglevel", "WARNING"],
        cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker_cmd = [locust, "-f", str(locustfile), "--worker", "--master-host", "127.0.0.1",
                  "--master-port", str(port), "--loglevel", "WARNING"]  # fmt: skip
    procs = [subprocess.Popen(worker_cmd, cwd=tmp, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]  # fmt: skip
    watches = [Watch(p) for p in (master, *procs)]
    while master.poll() is None:
        for watch in watches:
            watch.poll()
        time.sleep(0.5)
    for proc in procs:
        proc.wait(30)
    cpu: dict[str, float] = {}
    for watch, role in zip(watches, ["master", *["workers"] * workers], strict=True):
        cpu[role] = cpu.get(role, 0.0) + sum(watch.cpu_by_role().values())
    with open(f"{prefix}_stats.csv") as fh:
        for row in csv.DictReader(fh):
            if row["Name"] == "Aggregated":
                return {"rate": float(row["Requests/s"]), "sent": int(row["Request Count"]),
                        "cpu": cpu}  # fmt: skip
    raise SystemExit("plain locust wrote no aggregated stats")


def per_worker_cpu(run: dict[str, Any]) -> float:
    """Requests per worker CPU-second."""
    return run["sent"] / max(run["cpu"].get("workers", 0.0), 1e-9)


def describe(name: str, run: dict[str, Any]) -> str:
    cpu = ", ".join(f"{role} {seconds:.1f}" for role, seconds in sorted(run["cpu"].items()))
    return (f"  {name:34} {run['rate']:>8,.0f} req/s  {run['sent']:>9,} sent  "
            f"{per_worker_cpu(run):>7,.0f} req per worker CPU-s  (CPU s: {cpu})")  # fmt: skip


def bench_scaling(url: str, tmp: Path, seconds: int, repeat: int) -> dict[int, dict[str, Any]]:
    sample = make_sample("replay-2m", 2_000_000)
    best: dict[int, dict[str, Any]] = {}
    for _ in range(repeat):
        for workers in (1, 2):
            run = warmer_run(url, sample, workers, seconds, tmp)
            if workers not in best or run["rate"] > best[workers]["rate"]:
                best[workers] = run
    print("scaling (warmer replay --engine locust, 64 users, max pace, best of "
          f"{repeat}, load before {os.getloadavg()[0]:.1f})")  # fmt: skip
    for workers, run in best.items():
        print(describe(f"{workers} local worker(s)", run))
    ratio = best[2]["rate"] / best[1]["rate"]
    print(f"ratio 2 workers / 1 worker: {ratio:.2f}x   (target >= 1.8)")
    return best


def bench_overhead(
    url: str, tmp: Path, seconds: int, repeat: int, counts: tuple[int, ...] = (1, 2)
) -> None:
    sample = make_sample("replay-2m", 2_000_000)
    for workers in counts:
        plain: dict[str, Any] | None = None
        ours: dict[str, Any] | None = None
        for _ in range(repeat):
            p = plain_run(url, workers, seconds, tmp)
            w = warmer_run(url, sample, workers, seconds, tmp)
            plain = p if plain is None or p["rate"] > plain["rate"] else plain
            ours = w if ours is None or w["rate"] > ours["rate"] else ours
        assert plain is not None and ours is not None
        print(
            f"overhead with {workers} worker(s) (best of {repeat}, load {os.getloadavg()[0]:.1f})"
        )
        print(describe("plain Locust FastHttpUser", plain))
        print(describe("warmer --engine locust", ours))
        wall = 1 - ours["rate"] / plain["rate"]
        cpu = 1 - per_worker_cpu(ours) / per_worker_cpu(plain)
        print(f"warmer overhead: wall {wall:+.1%}, per worker CPU-second {cpu:+.1%}   "
              "(target <= 15%)")  # fmt: skip


def bench_memory(url: str, tmp: Path) -> None:
    for count, name in ((1_000_000, "replay-1m"), (10_000_000, "replay-10m")):
        sample = make_sample(name, count)
        started = time.monotonic()
        run = warmer_run(url, sample, 2, None, tmp)
        took = time.monotonic() - started
        peaks = run["peak_mb"]
        print(f"memory {count:>10,}-request sample: {run['sent']:,} sent in {took:.0f} s, "
              f"peak RSS master {peaks.get('master', 0):.0f} MB, warmer "
              f"{peaks.get('warmer', 0):.0f} MB, each worker <= {peaks.get('workers', 0):.0f} MB "
              f"(load {os.getloadavg()[0]:.1f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="scaling,overhead,memory")
    parser.add_argument("--seconds", type=int, default=20, help="sending time per run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per variant (best kept)")
    parser.add_argument("--workers", default="1,2", help="overhead: worker counts to compare")
    args = parser.parse_args()
    if not os.path.exists("/usr/sbin/nginx"):
        raise SystemExit("needs /usr/sbin/nginx")
    sections = {
        "scaling": lambda url, tmp: bench_scaling(url, tmp, args.seconds, args.repeat),
        "overhead": lambda url, tmp: bench_overhead(
            url, tmp, args.seconds, args.repeat, tuple(int(n) for n in args.workers.split(","))
        ),
        "memory": bench_memory,
    }
    print(f"load average before: {os.getloadavg()}")
    with nginx_running() as (url, tmp):
        for section in args.only.split(","):
            sections[section](url, tmp)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
