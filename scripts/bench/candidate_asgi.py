"""Throughput of the reference candidate: plain ASGI (what ships) against the same service on
Starlette, side by side in one run, with ``wrk`` on L0 hits and on full misses.

Both run under uvicorn (uvloop + httptools, access log off) in their own process; ``wrk``
uses one thread. The two servers are measured alternately, ``--rounds`` times each, and the
medians are printed with their ratio (alternating keeps a shared machine's load swings from
favouring one side). Bounded: 4 × rounds runs of ``--seconds``.

    .venv/bin/python scripts/bench/candidate_asgi.py [--seconds 3] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.services import free_port

MISS_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/product/" .. counter)
end
"""


def starlette_app(settings: CandidateSettings) -> object:
    """The candidate's service behind a Starlette catch-all route (the alternative measured)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from warmer.demo.candidate.service import Candidate

    candidate = Candidate(settings)

    async def serve(request: Request) -> Response:
        served = await candidate.handle(request.method, request.url.path, request.url.query)
        headers = {"cache-status": served.cache_status}
        return Response(served.body, served.status, headers, media_type=served.content_type)

    return Starlette(routes=[Route("/{path:path}", serve, methods=["GET", "HEAD", "POST"])])


def serve_starlette(port: int) -> None:
    import uvicorn

    settings = CandidateSettings(port=port, backend_latency_ms=2.0, backend_jitter_ms=1.0)
    uvicorn.run(
        starlette_app(settings),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> float:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    argv += ["-s", str(script)] if script else []
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert found, out
    return float(found.group(1))


def wait_ready(url: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--serve-starlette", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_starlette:
        serve_starlette(args.serve_starlette)
        return
    script = Path(tempfile.mkdtemp()) / "miss.lua"
    script.write_text(MISS_SCRIPT)
    port = free_port()
    other = subprocess.Popen([sys.executable, __file__, "--serve-starlette", str(port)])
    settings = CandidateSettings(backend_latency_ms=2.0, backend_jitter_ms=1.0)
    try:
        with CandidateServer(settings) as plain:
            starlette_url = f"http://127.0.0.1:{port}"
            wait_ready(starlette_url + "/product/0")
            wait_ready(plain.url + "/product/0")
            for label, path, lua in (("L0 hit", "/product/0", None), ("full miss", "", script)):
                ours_runs, theirs_runs = [], []
                for _ in range(args.rounds):
                    ours_runs.append(wrk(plain.url + path, args.seconds, args.connections, lua))
                    theirs_runs.append(
                        wrk(starlette_url + path, args.seconds, args.connections, lua)
                    )
                ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)
                print(
                    f"{label:9s}  plain ASGI {ours:9.0f} req/s   Starlette {theirs:9.0f} req/s"
                    f"   ratio {ours / theirs:.2f}"
                )
    finally:
        other.terminate()
        other.wait()


if __name__ == "__main__":
    main()
