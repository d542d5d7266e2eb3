"""Safety rules: protected hosts, methods, header handling, Host, target parsing."""

from __future__ import annotations

import pytest

from warmer.errors import UnsafeTargetError, UsageError
from warmer.model.sample import SampleRecord
from warmer.replay.safety import (
    RequestPolicy,
    check_methods,
    check_protected,
    parse_header,
)
from warmer.replay.target import parse_target


@pytest.mark.parametrize(
    ("url", "patterns", "refused"),
    [
        ("https://api.prod.example.com", ("*.prod.example.com",), True),
        ("https://API.PROD.example.com", ("*.prod.example.com",), True),
        ("https://api.staging.example.com", ("*.prod.example.com",), False),
        ("http://shop.example.com:8080", ("shop.example.com",), True),
        ("http://127.0.0.1:8080", ("*.example.com",), False),
        ("http://127.0.0.1:8080", (), False),
    ],
)
def test_protected_hosts(url: str, patterns: tuple[str, ...], refused: bool) -> None:
    target = parse_target(url)
    if refused:
        with pytest.raises(UnsafeTargetError, match="protected"):
            check_protected(target, patterns)
    else:
        check_protected(target, patterns)


def test_methods_validated_and_upper_cased() -> None:
    assert check_methods(["get", "post"]) == {"GET", "POST"}
    for bad in ("TRACE", "CONNECT", "GE T", ""):
        with pytest.raises(UnsafeTargetError):
            check_methods([bad])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("X-Warm: 1", ("X-Warm", "1")), ("Authorization:  Bearer t ", ("Authorization", "Bearer t"))],
)
def test_parse_header(text: str, expected: tuple[str, str]) -> None:
    assert parse_header(text) == expected


@pytest.mark.parametrize("text", ["NoColon", "Bad Name: x", ": x"])
def test_parse_header_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_header(text)


def _record(**kw: object) -> SampleRecord:
    base: dict[str, object] = {"ts": 0.0, "method": "GET", "target": "/p?q=1", "key": "/p"}
    base.update(kw)
    return SampleRecord(**base)  # type: ignore[arg-type]


def test_skip_reasons() -> None:
    policy = RequestPolicy(parse_target("http://c:8080"))
    assert policy.skip_reason(_record()) is None
    assert policy.skip_reason(_record(method="head")) is None
    assert policy.skip_reason(_record(method="POST")) == "method"
    assert policy.skip_reason(_record(target="/a b")) == "invalid"
    assert policy.skip_reason(_record(target="http://evil/")) == "invalid"
    assert policy.skip_reason(_record(target="/x\r\nHost: evil")) == "invalid"


def test_prepare_sets_target_host_prefix_and_headers() -> None:
    policy = RequestPolicy(
        parse_target("http://cand:8080/api/"),
        add_headers={"X-Warm": "1", "accept": "text/html"},
        drop_headers=("x-trace-*",),
    )
    record = _record(
        host="www.prod.example.com",
        headers={
            "host": "www.prod.example.com",
            "accept": "*/*",
            "x-trace-id": "abc",
            "connection": "close",
            "x-evil": "a\r\nInjected: 1",
            "accept-language": "fr",
        },
    )
    req = policy.prepare(record)
    assert req.path == "/api/p?q=1"
    headers = dict(req.headers)
    assert headers["Host"] == "cand:8080"
    assert headers["accept"] == "text/html"
    assert headers["accept-language"] == "fr"
    assert "x-trace-id" not in headers and "connection" not in headers and "x-evil" not in headers
    assert req.head.startswith(b"GET /api/p?q=1 HTTP/1.1\r\nHost: cand:8080\r\n")
    assert req.head.endswith(b"\r\n\r\n") and b"Injected" not in req.head


def test_preserve_host_sends_the_recorded_host() -> None:
    policy = RequestPolicy(parse_target("http://cand"), preserve_host=True)
    assert dict(policy.prepare(_record(host="shop.example.com")).headers)["Host"] == (
        "shop.example.com"
    )
    assert dict(policy.prepare(_record()).headers)["Host"] == "cand"


def test_body_gets_a_content_length() -> None:
    policy = RequestPolicy(parse_target("http://c"), allow_methods=frozenset({"POST"}))
    req = policy.prepare(_record(method="POST", body="aGVsbG8="))
    assert req.body == b"hello" and b"Content-Length: 5\r\n" in req.head


@pytest.mark.parametrize(
    ("url", "socket", "expected"),
    [
        ("http://127.0.0.1:8080", None, ("http", "127.0.0.1", 8080, "", None, "127.0.0.1:8080")),
        ("https://c.example.com/x/", None,
         ("https", "c.example.com", 443, "/x", None, "c.example.com")),
        ("http://[::1]:81", None, ("http", "::1", 81, "", None, "[::1]:81")),
        ("http+unix://%2Ftmp%2Fa.sock/api", None,
         ("http", "localhost", 80, "/api", "/tmp/a.sock", "localhost")),
        ("http://svc", "/run/s.sock", ("http", "svc", 80, "", "/run/s.sock", "svc")),
    ],
)  # fmt: skip
def test_parse_target(url: str, socket: str | None, expected: tuple[object, ...]) -> None:
    t = parse_target(url, socket)
    assert (t.scheme, t.host, t.port, t.prefix, t.unix_socket, t.authority) == expected


@pytest.mark.parametrize(
    "url", ["ftp://x", "127.0.0.1:80", "http://", "http+unix://", "http://h:99999"]
)
def test_parse_target_rejects(url: str) -> None:
    with pytest.raises(UsageError):
        parse_target(url)
