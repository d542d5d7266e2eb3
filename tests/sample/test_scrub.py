"""Scrubbing: secret headers dropped, secret query values redacted, nothing survives."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from warmer.config.schema import DEFAULT_SCRUB_HEADERS, DEFAULT_SCRUB_PARAMS
from warmer.sample.importer import ImportOptions
from warmer.sample.scrub import REDACTED, ScrubPolicy

from ._import_helpers import import_text

POLICY = ScrubPolicy.build(DEFAULT_SCRUB_HEADERS, DEFAULT_SCRUB_PARAMS)
REDACT = ScrubPolicy.build(DEFAULT_SCRUB_HEADERS, DEFAULT_SCRUB_PARAMS, redact=True)
PSEUDONYM = re.compile(r"REDACTED-[0-9a-f]{16}")
R = REDACTED


@pytest.mark.parametrize(
    ("url", "expected", "labels"),
    [
        ("/a", "/a", []),
        ("/a?x=1", "/a?x=1", []),
        ("/a?token=abc&x=1", f"/a?token={R}&x=1", ["param:token"]),
        ("/a?x=1&API_KEY=zz", f"/a?x=1&API_KEY={R}", ["param:api_key"]),
        ("/a?access%5Ftoken=s", f"/a?access%5Ftoken={R}", ["param:access_token"]),
        ("/a?password=p#frag", f"/a?password={R}#frag", ["param:password"]),
        ("/a?token", "/a?token", []),  # no value, nothing to hide
        ("/a?token=", "/a?token=", []),
        ("/a?TOKEN=x", f"/a?TOKEN={R}", ["param:token"]),  # names match in any case
        ("/a?%74oken=x", f"/a?%74oken={R}", ["param:token"]),  # encoded name
        ("/a?%20token=x", f"/a?%20token={R}", ["param:token"]),  # padded name
        ("/a?q=token&page=2", "/a?q=token&page=2", []),  # a secret word as a value only
        ("https://h/p?sig=1&signature=2", f"https://h/p?sig={R}&signature={R}",
         ["param:sig", "param:signature"]),
        # credential words, not only exact names
        ("/a?session_id=1&auth_token=2&jwt=3&private_token=4",
         f"/a?session_id={R}&auth_token={R}&jwt={R}&private_token={R}",
         ["param:session_id", "param:auth_token", "param:jwt", "param:private_token"]),
        ("/a?accessToken=1&clientSecret=2", f"/a?accessToken={R}&clientSecret={R}",
         ["param:accesstoken", "param:clientsecret"]),
        ("/login?user%5Bpassword%5D=pw&user%5Bname%5D=ann",
         f"/login?user%5Bpassword%5D={R}&user%5Bname%5D=ann", ["param:user[password]"]),
        # harmless look-alikes stay
        ("/s?keyword=a&author=b&monkey=c&signal=d", "/s?keyword=a&author=b&monkey=c&signal=d", []),
        # path parameters and fragments
        ("/cart;jsessionid=ABC123?x=1", f"/cart;jsessionid={R}?x=1", ["param:jsessionid"]),
        ("/a;token=t/b;v=2", f"/a;token={R}/b;v=2", ["param:token"]),
        ("/cb#access_token=t&token_type=bearer&state=s",
         f"/cb#access_token={R}&token_type={R}&state=s",
         ["param:access_token", "param:token_type"]),
        ("/app#/route?sid=9", f"/app#/route?sid={R}", ["param:sid"]),
        # userinfo of absolute-form targets and URLs in header values
        ("http://user:pass@h.example/p?q=1", "http://h.example/p?q=1", ["userinfo"]),
        ("https://tok@h/p", "https://h/p", ["userinfo"]),
        ("//u:p@h/p", "//h/p", ["userinfo"]),
        ("/users/@me", "/users/@me", []),  # "@" in a path is no userinfo
    ],
)  # fmt: skip
def test_scrub_url(url: str, expected: str, labels: list[str]) -> None:
    assert REDACT.scrub_url(url) == (expected, labels)


@pytest.mark.parametrize(
    ("name", "dropped"),
    [
        ("Authorization", True),
        ("cookie", True),
        ("X-Api-Key", True),
        ("X-Auth-Token", True),
        ("Proxy-Authorization", True),
        ("X-Session-Id", True),
        ("X-My-Secret", True),
        ("Ocp-Apim-Subscription-Key", True),
        ("X-Goog-Api-Key", True),
        ("X-Amz-Security-Token", True),
        ("X-CSRFToken", True),
        ("User-Agent", False),
        ("Accept", False),
        ("Referer", False),
        ("Keep-Alive", False),
        ("X-Author", False),
    ],
)
def test_header_policy(name: str, dropped: bool) -> None:
    assert POLICY.drops_header(name) is dropped


def test_keep_header_keep_param_and_disabled() -> None:
    assert not ScrubPolicy.build(["cookie"], [], keep=["Cookie"]).drops_header("cookie")
    kept = ScrubPolicy.build([], [], keep_params=["Session"], redact=True)
    assert kept.scrub_url("/a?session=1&token=2") == (f"/a?session=1&token={R}", ["param:token"])
    off = ScrubPolicy.build(["cookie"], ["token"], enabled=False)
    assert not off.drops_header("cookie")
    assert off.scrub_url("/a?token=1") == ("/a?token=1", [])
    assert off.scrub_host("u:p@h") == ("u:p@h", [])


def test_pseudonyms_keep_distinct_values_distinct() -> None:
    policy = ScrubPolicy.build([], [])
    one, _ = policy.scrub_url("/a?token=alpha")
    assert PSEUDONYM.fullmatch(one.partition("=")[2]) and "alpha" not in one
    assert policy.scrub_url("/a?token=alpha")[0] == one  # same value, same pseudonym
    assert policy.scrub_url("/a?token=%61lpha")[0] == one  # same value as a cache key reads it
    assert policy.scrub_url("/a?token=beta")[0] != one
    other = ScrubPolicy.build([], [])  # another import: another salt
    assert other.scrub_url("/a?token=alpha")[0] != one
    assert policy.salt.hex() not in repr(policy)


def test_host_userinfo_removed() -> None:
    assert POLICY.scrub_host("admin:hunter2@shop.example") == ("shop.example", ["userinfo"])
    assert POLICY.scrub_host("shop.example:8443") == ("shop.example:8443", [])


@pytest.mark.parametrize(
    ("body", "expected", "labels"),
    [
        (b"user=ann&password=hunter2", f"user=ann&password={R}".encode(), ["body:password"]),
        (b'{"user":"ann","auth":{"refreshToken":"r1"}}',
         f'{{"user":"ann","auth":{{"refreshToken":"{R}"}}}}'.encode(), ["body:refreshtoken"]),
        (b'{"user":"ann","pin":1234,"remember_password":true}',
         f'{{"user":"ann","pin":"{R}","remember_password":true}}'.encode(), ["body:pin"]),
        (b"plain text body", b"plain text body", []),
        (b"\x00\xffbinary", b"\x00\xffbinary", []),
    ],
)  # fmt: skip
def test_body_fields_scrubbed(body: bytes, expected: bytes, labels: list[str]) -> None:
    encoded = base64.b64encode(body).decode()
    scrubbed, got = REDACT.scrub_body(encoded)
    assert (base64.b64decode(scrubbed), got) == (expected, labels)


def _secret_har() -> bytes:
    entry = {
        "startedDateTime": "2026-11-02T08:00:00.000Z",
        "time": 5,
        "request": {
            "method": "GET",
            "url": "https://h.example/a?token=SEKRIT1&x=1",
            "headers": [
                {"name": "Authorization", "value": "Bearer SEKRIT2"},
                {"name": "Cookie", "value": "session=SEKRIT3"},
                {"name": "X-Api-Key", "value": "SEKRIT4"},
                {"name": "Referer", "value": "https://h.example/login?password=SEKRIT5"},
                {"name": "User-Agent", "value": "ua"},
            ],
        },
        "response": {"status": 200, "bodySize": 3, "headers": []},
    }
    return json.dumps({"log": {"version": "1.2", "entries": [entry, entry]}}).encode()


@pytest.mark.parametrize("suffix", ["out.parquet", "out.jsonl", "out.jsonl.gz"])
def test_no_secret_anywhere_in_written_bytes(tmp_path: Path, suffix: str) -> None:
    from warmer.sample.importer import import_logs

    src = tmp_path / "in.har"
    src.write_bytes(_secret_har())
    out = tmp_path / suffix
    report = import_logs([str(src)], out)
    raw = out.read_bytes()
    if suffix.endswith(".gz"):
        import gzip

        raw = gzip.decompress(raw)
    for n in range(1, 6):
        assert f"SEKRIT{n}".encode() not in raw
    assert report.scrubbed == {
        "param:token": 2,
        "header:authorization": 2,
        "header:cookie": 2,
        "header:x-api-key": 2,
    }


def test_parquet_secret_check_is_not_vacuous(tmp_path: Path) -> None:
    """The same import with --no-scrub does keep the values (so the grep above can fail)."""
    from warmer.sample.importer import import_logs

    src = tmp_path / "in.har"
    src.write_bytes(_secret_har())
    out = tmp_path / "out.jsonl"
    import_logs([str(src)], out, ImportOptions(scrub=ScrubPolicy.build([], [], enabled=False)))
    assert b"SEKRIT1" in out.read_bytes()
    assert b"SEKRIT2" in out.read_bytes()


def test_scrub_counts_and_meta_from_log(tmp_path: Path) -> None:
    lines = "".join(
        f'1.2.3.4 - - [02/Nov/2026:08:00:0{i} +0100] "GET /v?token=tk{i}&a=1 HTTP/1.1" 302 0 '
        f'"https://r/?session=s{i}" "ua"\n'
        for i in range(3)
    )
    report, rows, out = import_text(tmp_path, lines)
    assert report.scrubbed["param:token"] == 3
    targets = [r["target"] for r in rows]
    assert all(re.fullmatch(rf"/v\?token={PSEUDONYM.pattern}&a=1", t) for t in targets)
    assert len(set(targets)) == 3  # three tokens, three keys: reuse is not invented
    referers = [dict(r["headers"])["referer"] for r in rows]
    assert all(re.fullmatch(rf"https://r/\?session={PSEUDONYM.pattern}", r) for r in referers)
    assert b"tk1" not in out.read_bytes() and b's1"' not in out.read_bytes()
    from warmer.sample.store import open_sample

    assert open_sample(out).meta.scrubbed == {"param:token": 3}


def test_extra_scrub_param(tmp_path: Path) -> None:
    line = '1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET /v?promo=123 HTTP/1.1" 200 1 "-" "u"\n'
    policy = ScrubPolicy.build(DEFAULT_SCRUB_HEADERS, (*DEFAULT_SCRUB_PARAMS, "promo"), redact=True)
    _, rows, _ = import_text(tmp_path, line, ImportOptions(scrub=policy))
    assert rows[0]["target"] == f"/v?promo={REDACTED}"


def test_headers_of_a_sliced_batch_stay_with_their_rows() -> None:
    """Arrow's MapArray.keys ignores slicing; the refiner must not mix rows' headers."""
    import pyarrow as pa

    from warmer.sample.formats.interface import RAW_SCHEMA
    from warmer.sample.importer import ImportReport, _Refiner

    rows = [
        {
            "ts": float(i),
            "method": "GET",
            "target": f"/r{i}",
            "line": i + 1,
            "headers": [("x-row", str(i)), ("cookie", f"c{i}")],
        }
        for i in range(4)
    ]
    table = pa.Table.from_pylist(rows, schema=RAW_SCHEMA).slice(2, 2)
    refiner = _Refiner(ImportOptions(), ImportReport(output=Path("x"), sources=[]))
    out, _ = refiner.refine(table)
    got = [(r["target"], dict(r["headers"])) for r in out.to_pylist()]
    assert got == [("/r2", {"x-row": "2"}), ("/r3", {"x-row": "3"})]
    assert refiner.report.scrubbed == {"header:cookie": 2}


def _raw_requests(targets: list[str]) -> object:
    import pyarrow as pa

    from warmer.sample.formats.interface import RAW_SCHEMA

    rows = [
        {"ts": float(i), "method": "GET", "target": t, "line": i + 1} for i, t in enumerate(targets)
    ]
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


@pytest.mark.parametrize("memo_limit", [500_000, 2])
def test_scrub_counts_add_up_across_blocks(memo_limit: int) -> None:
    """Counts are per request, whether a target was seen in an earlier block or the memo
    of distinct targets had to start over (limit 2 forces that every block)."""
    from warmer.sample.importer import ImportReport, _Refiner

    refiner = _Refiner(ImportOptions(), ImportReport(output=Path("x"), sources=[]))
    refiner._requests._limit = memo_limit
    blocks = [
        ["/a?token=1", "/b", "/a?token=1"],
        ["/a?token=1", "/c?password=p&token=2", "/b"],
        ["/c?password=p&token=2", "/d?secret=s"],
    ]
    for targets in blocks:
        out, _ = refiner.refine(_raw_requests(targets))  # type: ignore[arg-type]
        assert len(out) == len(targets)
    assert refiner.report.scrubbed == {"param:token": 5, "param:password": 2, "param:secret": 1}
