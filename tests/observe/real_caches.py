"""Real caches as candidates: an origin that sends Cache-Control and counts what reaches it,
with Debian's nginx (``proxy_cache``) or Varnish in front, each on a free loopback port."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.replay.conftest import wait_listening
from warmer.demo.services import free_port


class Origin:
    """A threaded HTTP/1.1 origin: ``/item/N`` with ``Cache-Control: max-age``, and the
    count of requests that reached it as a Prometheus counter on ``/metrics``."""

    def __init__(self, max_age: int, body_bytes: int = 2048) -> None:
        self.max_age = max_age
        self.body = b"x" * body_bytes
        self.requests = 0
        self._lock = threading.Lock()
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path == "/metrics":
                    text = "# TYPE origin_requests_total counter\n"
                    text += f"origin_requests_total {origin.requests}\n"
                    self._send(text.encode(), {"Content-Type": "text/plain; version=0.0.4"})
                    return
                with origin._lock:
                    origin.requests += 1
                headers = {"Cache-Control": f"public, max-age={origin.max_age}"}
                self._send(origin.body + self.path.encode(), headers)

            def _send(self, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log {root}/error.log crit;
pid {root}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp; uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    keepalive_requests 1000000;
    proxy_cache_path {root}/cache levels=1:2 keys_zone=edge:{zone} inactive=1h
                     use_temp_path=off;
    upstream origin {{ server 127.0.0.1:{origin}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache edge;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}
}}
"""


class NginxCache:
    """nginx ``proxy_cache`` with a ``keys_zone`` of ``zone`` (``10m``; ``32k`` is small)."""

    def __init__(self, root: Path, origin: Origin, zone: str = "10m") -> None:
        self.port = free_port()
        (root / "tmp").mkdir(parents=True)
        conf = root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=root, port=self.port, origin=origin.port, zone=zone))
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-p", str(root), "-c", str(conf)])
        wait_listening(("127.0.0.1", self.port), self.proc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


VCL = """
vcl 4.1;
backend default {{ .host = "127.0.0.1"; .port = "{origin}"; }}
sub vcl_backend_response {{ set beresp.grace = {grace}; set beresp.keep = 0s; }}
"""


def varnishd() -> str | None:
    found = shutil.which("varnishd") or "/usr/sbin/varnishd"
    return found if os.path.exists(found) else None


class VarnishCache:
    """varnishd with ``-s malloc,{storage}`` and ``beresp.grace`` of ``grace``."""

    def __init__(
        self, root: Path, origin: Origin, storage: str = "256m", grace: str = "0s"
    ) -> None:
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        vcl = root / "default.vcl"
        vcl.write_text(VCL.format(origin=origin.port, grace=grace))
        argv = [varnishd() or "varnishd", "-F", "-j", "none", "-T", "none",
                "-a", f"127.0.0.1:{self.port}", "-f", str(vcl), "-s", f"malloc,{storage}",
                "-n", str(root / "work"), "-p", "shortlived=0"]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_answering(self.url, self.proc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def _wait_answering(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the server answers HTTP (varnishd listens before its child can serve)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers at {url}")


def zipf_sample(
    path: Path, *, requests: int = 5000, keys: int = 1500, span_s: float = 7200.0, seed: int = 7
) -> Path:
    """A JSONL sample of Zipf-distributed ``/item/N`` requests spread over ``span_s``."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 1.1 for i in range(keys)]
    chosen = rng.choices(range(keys), weights, k=requests)
    start = time.time() - 86400
    with open(path, "w") as out:
        for i, k in enumerate(chosen):
            ts = start + span_s * i / requests
            out.write(json.dumps({"ts": ts, "method": "GET", "target": f"/item/{k}",
                                  "key": f"GET /item/{k}"}) + "\n")  # fmt: skip
    return path
