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
from warmer.replay.wire import encode_host, encode_target


@pytest.mark.parametrize(
    ("url", "patterns", "refused"),
    [
        ("https://api.prod.example.com", ("*.prod.example.com",), True),
        ("https://API.PROD.example.com", ("*.prod.example.com",), True),
        ("https://api.staging.example.com", ("*.prod.example.com",), False),
        ("http://shop.example.com:8080", ("shop.example.com",), True),
        ("http://127.0.0.1:8080", ("*.example.com",), False),
        ("http://127.0.0.1:8080", (), False),
        # every spelling of one address (what the resolver and inet_aton accept)
        ("http://127.1:8080", ("127.0.0.1",), True),
        ("http://2130706433:8080", ("127.0.0.1",), True),
        ("http://0x7f.0.0.1:8080", ("127.0.0.1",), True),
        ("http://0177.0.0.1:8080", ("127.0.0.1",), True),
        ("http://0x7f.1/", ("127.0.0.1",), True),
        ("http://[::ffff:127.0.0.1]:8080", ("127.0.0.1",), True),
        ("http://127.0.0.1:8080", ("[::ffff:7f00:1]",), True),
        ("http://127.0.0.1.:8080", ("127.0.0.1",), True),
        ("http://127.0.0.2:8080", ("127.0.0.1",), False),
        # trailing dots, case and IDNA on both sides
        ("https://prod.example.com./", ("prod.example.com",), True),
        ("https://prod.example.com/", ("PROD.example.com.",), True),
        ("https://x.prod.example.com./", ("*.prod.example.com",), True),
        ("https://xn--bcher-kva.example/", ("bücher.example",), True),
        ("https://BÜCHER.example/", ("xn--bcher-kva.example",), True),
        # CIDR blocks
        ("http://10.1.2.3/", ("10.0.0.0/8",), True),
        ("http://0xa.1.2.3/", ("10.0.0.0/8",), True),
        ("http://11.1.2.3/", ("10.0.0.0/8",), False),
    ],
)
def test_protected_hosts(url: str, patterns: tuple[str, ...], refused: bool) -> None:
    target = parse_target(url)
    if refused:
        with pytest.raises(UnsafeTargetError, match="protected"):
            check_protected(target, patterns, resolve=False)
    else:
        check_protected(target, patterns, resolve=False)


def test_protected_hosts_compared_by_resolved_address() -> None:
    """localhost resolves to 127.0.0.1 (and ::1) on every machine the tests run on."""
    with pytest.raises(UnsafeTargetError, match="protected"):
        check_protected(parse_target("http://localhost:8080"), ("127.0.0.1",))
    with pytest.raises(UnsafeTargetError, match="protected"):
        check_protected(parse_target("http://127.0.0.1:8080"), ("localhost",))
    check_protected(parse_target("http://localhost:8080"), ("127.0.0.1",), resolve=False)
    # a name that does not resolve is compared as a name: no error, no false refusal
    check_protected(parse_target("http://no-such-host.invalid:8080"), ("127.0.0.1",))


def test_unix_socket_targets_are_not_resolved() -> None:
    target = parse_target("http://localhost", "/run/app.sock")
    check_protected(target, ("127.0.0.1",))  # the traffic goes to the socket
    with pytest.raises(UnsafeTargetError):
        check_protected(target, ("localhost",))  # the name itself is still compared


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


@pytest.mark.parametrize("text", ["NoColon", "Bad Name: x", ": x", "X-A: 日本", "X-A: a\x00b"])
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
    assert policy.skip_reason(_record(target="//evil/x")) == "invalid"
    assert policy.skip_reason(_record(target="/x\r\nHost: evil")) == "invalid"
    assert policy.skip_reason(_record(headers={"x-evil": "a\r\nInjected: 1"})) == "header"
    assert policy.skip_reason(_record(headers={"x evil": "1"})) == "header"
    assert policy.skip_reason(_record(headers={"x-a": "日本"})) == "header"
    assert policy.skip_reason(_record(headers={"x-a": "café"})) is None  # ISO-8859-1
    assert policy.skip_reason(_record(headers={"connection": "a\r\nb"})) is None  # never sent
    preserving = RequestPolicy(parse_target("http://c:8080"), preserve_host=True)
    smuggle = "a.example\r\nContent-Length: 0\r\n\r\nDELETE /admin/users/1 HTTP/1.1"
    assert preserving.skip_reason(_record(host=smuggle)) == "host"
    assert preserving.skip_reason(_record(headers={"host": smuggle})) == "host"
    assert preserving.skip_reason(_record(host="a b")) == "host"
    with pytest.raises(ValueError, match="cannot be sent"):
        preserving.prepare(_record(host=smuggle))


def test_prepare_sets_target_host_prefix_and_headers() -> None:
    policy = RequestPolicy(
        parse_target("http://cand:8080/api/"),
        add_headers={"X-Warm": "1", "Accept": "text/html"},
        drop_headers=("x-trace-*",),
    )
    record = _record(
        host="www.prod.example.com",
        headers={
            "host": "www.prod.example.com",
            "accept": "*/*",
            "x-trace-id": "abc",
            "connection": "close",
            "accept-language": " fr ",
        },
    )
    req = policy.prepare(record)
    assert req.path == "/api/p?q=1"
    assert req.headers == (
        ("Host", "cand:8080"),
        ("Accept", "text/html"),  # the added header replaced the recorded one, in its place
        ("accept-language", "fr"),
        ("X-Warm", "1"),
        ("User-Agent", "warmer"),
    )
    assert req.head == (
        b"GET /api/p?q=1 HTTP/1.1\r\nHost: cand:8080\r\nAccept: text/html\r\n"
        b"accept-language: fr\r\nX-Warm: 1\r\nUser-Agent: warmer\r\n\r\n"
    )


@pytest.mark.parametrize("preserve", [False, True])
def test_an_added_host_replaces_the_default_and_the_recorded_one(preserve: bool) -> None:
    policy = RequestPolicy(
        parse_target("http://cand:8080"),
        add_headers={"host": "shop.example", "user-agent": "me"},
        preserve_host=preserve,
    )
    req = policy.prepare(_record(host="rec.example", headers={"Host": "rec.example"}))
    assert req.headers == (("host", "shop.example"), ("user-agent", "me"))
    assert req.head.lower().count(b"\r\nhost:") == 1


def test_target_encoded_as_browsers_do() -> None:
    policy = RequestPolicy(parse_target("http://c"))
    req = policy.prepare(_record(target="/café/日本?q=ü#frag"))
    assert req.path == "/caf%C3%A9/%E6%97%A5%E6%9C%AC?q=%C3%BC"
    assert req.head.startswith(b"GET /caf%C3%A9/%E6%97%A5%E6%9C%AC?q=%C3%BC HTTP/1.1\r\n")
    latin = policy.prepare(_record(headers={"x-name": "café"}))
    assert b"\r\nx-name: caf\xe9\r\n" in latin.head


@pytest.mark.parametrize(
    ("target", "sent"),
    [
        ("/plain?a=1&b=2", "/plain?a=1&b=2"),
        ("/café", "/caf%C3%A9"),
        ("/a|b{c}", "/a%7Cb%7Bc%7D"),
        ('/q?x="<>"', "/q?x=%22%3C%3E%22"),
        ("/a%zz", "/a%25zz"),
        ("/%7Euser/%41%2f", "/~user/A%2f"),
        ("/a/../b", "/a/../b"),  # sent as recorded: no engine removes dot segments
        ("/a?", "/a"),
        ("/a;", "/a"),
        ("/a#b", "/a"),
        ("/\ud800", None),
        ("//host/x", None),
        ("/a\tb", None),
        ("x", None),
    ],
)
def test_encode_target(target: str, sent: str | None) -> None:
    assert encode_target(target) == sent


@pytest.mark.parametrize(
    ("host", "sent"),
    [
        ("shop.example", "shop.example"),
        ("shop.example:8443", "shop.example:8443"),
        ("[::1]:80", "[::1]:80"),
        ("bücher.example:81", "xn--bcher-kva.example:81"),
        ("a\r\nb", None),
        ("a b", None),
        ("a/b", None),
        ("user@host", None),
    ],
)
def test_encode_host(host: str, sent: str | None) -> None:
    assert encode_host(host) == sent


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
