"""Tests for the observers' standard-library HTTP client, against real local servers."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from warmer.demo.services import free_port
from warmer.errors import ObserverUnreachableError
from warmer.observe._http import HttpClient, HttpError, HttpStatusError
from warmer.observe.parsers.selector import parse_selector
from warmer.observe.prometheus import PrometheusObserver


class Handler(BaseHTTPRequestHandler):
    """/metrics answers; /status/N answers N; /moved redirects; ?close drops the connection."""

    protocol_version = "HTTP/1.1"  # keep-alive, as Prometheus exporters speak
    seen: ClassVar[list[tuple[str, str | None, str | None]]] = []
    connections: ClassVar[set[int]] = set()
    """Client ports: one per connection the client opened."""

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization"), self.headers.get("Accept")))
        self.connections.add(self.client_address[1])
        status = (
            int(self.path.split("/")[2].split("?")[0]) if self.path.startswith("/status/") else 200
        )
        body = b"# TYPE hits_total counter\nhits_total 3\n"
        self.send_response(301 if self.path == "/moved" else status)
        if self.path == "/moved":
            self.send_header("Location", "http://example.invalid/metrics")
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        # Closing without saying so is what an exporter's idle timeout looks like to a client.
        self.close_connection = self.path.endswith("?close")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen, Handler.connections = [], set()
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_get_sends_basic_credentials_from_the_url_and_reads_the_page(server: str) -> None:
    url = server.replace("http://", "http://us%40er:p%3Ass@") + "/metrics?x=1"
    client = HttpClient(url, timeout_s=5)
    response = client.get("/metrics?x=1", accept="text/plain")
    client.close()
    assert (response.status, response.text()) == (200, "# TYPE hits_total counter\nhits_total 3\n")
    # base64("us@er:p:ss"): user info is percent-decoded before encoding.
    assert Handler.seen == [("/metrics?x=1", "Basic dXNAZXI6cDpzcw==", "text/plain")]


def test_one_connection_is_reused_and_a_dropped_one_is_reopened_once(server: str) -> None:
    client = HttpClient(server, timeout_s=5)
    assert client.get("/a").status == 200
    assert client.get("/b?close").status == 200  # the server closes it without a word
    assert client.get("/c").status == 200
    client.close()
    assert [path for path, _, _ in Handler.seen] == ["/a", "/b?close", "/c"]
    assert len(Handler.connections) == 2


@pytest.mark.parametrize(("path", "status"), [("/status/503", 503), ("/moved", 301)])
def test_non_2xx_is_a_status_error_and_redirects_are_not_followed(
    server: str, path: str, status: int
) -> None:
    client = HttpClient(server, timeout_s=5)
    response = client.get(path)
    with pytest.raises(HttpStatusError, match=f"^HTTP {status}$"):
        response.raise_for_status()
    assert [p for p, _, _ in Handler.seen] == [path]


def test_failures_are_named_like_httpx_named_them() -> None:
    with pytest.raises(HttpError, match=r"^ConnectError: .*refused"):
        HttpClient(f"http://127.0.0.1:{free_port()}", timeout_s=2).get("/")
    with pytest.raises(HttpError, match=r"^UnsupportedProtocol"):
        HttpClient("ftp://127.0.0.1/metrics", timeout_s=2)
    with socket.socket() as silent:  # accepts the connection (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(HttpError, match=r"^ReadTimeout"):
            HttpClient(f"http://127.0.0.1:{port}", timeout_s=0.3).get("/")


def test_status_error_reaches_preflight_as_exit_3_with_the_status(server: str) -> None:
    observer = PrometheusObserver("l0", f"{server}/status/503", {"hits": parse_selector("hits")})
    with pytest.raises(
        ObserverUnreachableError, match=r"at http://127\.0\.0\.1:\d+/status/503: HTTP 503"
    ):
        observer.preflight()


def test_https_verifies_the_certificate(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        client = HttpClient(f"https://127.0.0.1:{httpd.server_address[1]}", timeout_s=5)
        with pytest.raises(HttpError, match=r"^ConnectError: .*CERTIFICATE_VERIFY_FAILED"):
            client.get("/metrics")
    finally:
        httpd.shutdown()
        httpd.server_close()
