"""Through the real `warmer replay`: smuggling refused, one wire form and one Host rule for all
engines, protected hosts matched as hosts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import run_warmer
from tests.replay.conftest import Nginx
from tests.replay.recording import Head, RecordingServer
from warmer.replay import open_results

ENGINES = [
    "fast",
    "httpx",
    pytest.param("locust", marks=pytest.mark.slow),  # real master and worker processes
]


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.close()


def _sample(path: Path, records: list[dict[str, Any]]) -> Path:
    """A hand-written JSONL sample: exactly the fields given, nothing cleaned on the way."""
    lines = [
        json.dumps({"ts": 1_700_000_000 + i, "method": "GET", "key": r["target"], **r})
        for i, r in enumerate(records)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _replay(sample: Path, target: str, engine: str, *args: str) -> dict[str, Any]:
    done = run_warmer(
        "replay", str(sample), "--target", target, "--engine", engine, "--json",
        "-o", str(sample.with_suffix(f".{engine}.parquet")), "--concurrency", "1", *args,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


@pytest.mark.parametrize("engine", ENGINES)
def test_a_smuggling_host_is_skipped_not_sent(
    recorder: RecordingServer, tmp_path: Path, engine: str
) -> None:
    """The probe of the issue: GET /first, DELETE /admin/users/1, GET /second reached the
    server, and the replay said ``2xx 2``."""
    smuggle = "a.example\r\nContent-Length: 0\r\n\r\nDELETE /admin/users/1 HTTP/1.1\r\nX: y"
    sample = _sample(
        tmp_path / "s.jsonl",
        [
            {"target": "/first"},
            {"target": "/middle", "host": smuggle},
            {"target": "/second", "headers": {"host": smuggle.replace("a.", "b.")}},
            {"target": "/third", "headers": {"x-evil": "1\r\n\r\nDELETE /admin HTTP/1.1"}},
        ],
    )
    summary = _replay(sample, recorder.url, engine, "--preserve-host")
    heads, raw = recorder.snapshot()
    assert [h.line for h in heads] == [b"GET /first HTTP/1.1"], raw
    assert b"DELETE" not in raw
    assert summary["sent"] == 1 and summary["skipped"] == {"header": 1, "host": 2}
    assert summary["status_classes"] == {"2xx": 1}


def _ours(head: Head) -> tuple[bytes, bytes, list[bytes], list[bytes]]:
    """What warmer decided about a head: the request line, Host and the recorded headers."""
    return head.line, head.values(b"host")[0], head.values(b"x-latin"), head.values(b"x-cjk")


@pytest.mark.slow  # runs Locust too
def test_non_ascii_requests_are_the_same_bytes_on_every_engine(
    recorder: RecordingServer, tmp_path: Path
) -> None:
    sample = _sample(
        tmp_path / "s.jsonl",
        [
            {"target": "/café/日本?q=ü", "headers": {"x-latin": "café"}},
            {"target": "/a b/"},  # a space cannot be sent: skipped as invalid
            {"target": "/plain", "headers": {"x-cjk": "日本"}},  # no ISO-8859-1 form: skipped
            {"target": '/%7Euser/%zz?x=<"{|}>'},
        ],
    )
    sent: dict[str, list[tuple[bytes, bytes, list[bytes], list[bytes]]]] = {}
    for engine in ("fast", "httpx", "locust"):
        recorder.reset()
        summary = _replay(sample, recorder.url, engine)
        assert summary["skipped"] == {"header": 1, "invalid": 1}, engine
        assert summary["status_classes"] == {"2xx": 2}, engine
        sent[engine] = sorted(_ours(h) for h in recorder.snapshot()[0])
    assert sent["fast"] == [
        (b"GET /caf%C3%A9/%E6%97%A5%E6%9C%AC?q=%C3%BC HTTP/1.1", b"127.0.0.1:%d" % recorder.port,
         [b"caf\xe9"], []),
        (b"GET /~user/%25zz?x=%3C%22%7B%7C%7D%3E HTTP/1.1", b"127.0.0.1:%d" % recorder.port,
         [], []),
    ]  # fmt: skip
    assert sent["httpx"] == sent["fast"] and sent["locust"] == sent["fast"]
    rows = open_results(sample.with_suffix(".fast.parquet")).to_table().to_pylist()
    assert {r["target"] for r in rows} == {
        "/caf%C3%A9/%E6%97%A5%E6%9C%AC?q=%C3%BC",
        "/~user/%25zz?x=%3C%22%7B%7C%7D%3E",
    }  # the results say what was sent, not the recorded text


@pytest.mark.parametrize("engine", ENGINES)
def test_an_added_host_header_replaces_the_target_host(
    recorder: RecordingServer, nginx: Nginx, tmp_path: Path, engine: str
) -> None:
    """Two Host headers made nginx answer 400 to every request; httpx ignored the flag."""
    sample = _sample(
        tmp_path / "s.jsonl",
        [{"target": f"/p/{i}", "headers": {"host": "rec.example"}} for i in range(3)],
    )
    args = ("--header", "Host: shop.example", "--header", "user-agent: me", "--preserve-host")
    summary = _replay(sample, nginx.url, engine, *args)
    assert summary["status_classes"] == {"2xx": 3}, summary  # nginx: no 400
    _replay(sample, recorder.url, engine, *args)
    heads, raw = recorder.snapshot()
    assert len(heads) == 3
    for head in heads:
        assert head.values(b"host") == [b"shop.example"], raw
        assert head.values(b"user-agent") == [b"me"], raw


@pytest.mark.parametrize(
    "host",
    ["127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "[::ffff:127.0.0.1]", "127.0.0.1.",
     "localhost"],
)  # fmt: skip
def test_protected_address_refused_in_every_spelling(
    recorder: RecordingServer, tmp_path: Path, host: str
) -> None:
    (tmp_path / "warmer.toml").write_text('[safety]\nprotected_hosts = ["127.0.0.1"]\n')
    sample = _sample(tmp_path / "s.jsonl", [{"target": "/a"}])
    done = run_warmer(
        "replay", str(sample), "--target", f"http://{host}:{recorder.port}", cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "protected" in done.stderr and "127.0.0.1" in done.stderr
    assert recorder.snapshot() == ([], b"")


def test_protected_name_with_a_trailing_dot_refused(tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text('[safety]\nprotected_hosts = ["prod.example.com"]\n')
    sample = _sample(tmp_path / "s.jsonl", [{"target": "/a"}])
    done = run_warmer("replay", str(sample), "--target", "https://prod.example.com./", cwd=tmp_path)
    assert done.returncode == 2 and "protected" in done.stderr


def test_target_password_never_reaches_the_results_file(
    recorder: RecordingServer, tmp_path: Path
) -> None:
    sample = _sample(tmp_path / "s.jsonl", [{"target": "/a"}])
    out = tmp_path / "r.parquet"
    target = f"http://warmer:pw-9f3e1c@127.0.0.1:{recorder.port}"
    done = run_warmer("replay", str(sample), "--target", target, "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert open_results(out).meta["target"] == f"http://warmer:***@127.0.0.1:{recorder.port}"
    assert b"pw-9f3e1c" not in out.read_bytes()
    assert "pw-9f3e1c" not in done.stdout + done.stderr
    token = f"http://tok-77aa5c@127.0.0.1:{recorder.port}"
    done = run_warmer("replay", str(sample), "--target", token, "-o", str(out))
    assert done.returncode == 0 and b"tok-77aa5c" not in out.read_bytes()
    bad = run_warmer("replay", str(sample), "--target", "ftp://u:pw-5d0b@h/")
    assert bad.returncode == 2 and "pw-5d0b" not in bad.stderr
