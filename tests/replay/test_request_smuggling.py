"""Hostile recorded fields never change what reaches the target, on any engine.

The property: whatever bytes a sample holds in its host, target, method, header names and
values, a server that records raw request heads sees exactly the requests the replay says
it sent, each a well-formed GET or HEAD in origin form with one Host header (the target's
unless --preserve-host) — no extra request, no unsafe method, no other host.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.replay.recording import RecordingServer
from warmer.model.sample import SampleRecord
from warmer.replay import ReplayPlan, ResultsWriter, replay

SMUGGLED = [
    "\r\n",
    "\n",
    "\r",
    "\x00",
    " ",
    "\t",
    ":",
    "/",
    "//",
    "?",
    "#",
    "%",
    "%0d%0a",
    "@",
    "é",
    "日本",
    "\u202e",
    "\r\n\r\nDELETE /admin/users/1 HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    "\r\nContent-Length: 0\r\n\r\nDELETE /admin/users/1 HTTP/1.1",
    "\nTransfer-Encoding: chunked",
    "\r\nHost: evil.example",
    "http://evil.example/",
]

_chunk = st.one_of(
    st.binary(max_size=12).map(lambda data: data.decode("latin-1")),  # any byte 0-255
    st.text(max_size=8),  # any code point
    st.sampled_from(SMUGGLED),
)
hostile = st.lists(_chunk, max_size=4).map("".join)
methods = st.one_of(st.sampled_from(["GET", "HEAD", "get", "DELETE", "POST"]), hostile)


@st.composite
def records(draw: st.DrawFn) -> list[SampleRecord]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        headers = draw(st.dictionaries(hostile, hostile, max_size=3))
        if draw(st.booleans()):
            headers["host"] = draw(hostile)
        target = draw(st.one_of(hostile.map(lambda t: "/" + t), hostile))
        out.append(
            SampleRecord(
                ts=1_700_000_000.0 + i,
                method=draw(methods),
                target=target,
                key=f"k{i}",
                host=draw(st.one_of(st.none(), hostile)),
                headers=headers,
            )
        )
    return out


ISSUE_CASE = [  # the probe that made a server receive GET, DELETE, GET
    SampleRecord(
        ts=1_700_000_000.0 + i,
        method="GET",
        target=target,
        key=target,
        host="a.example\r\nContent-Length: 0\r\n\r\nDELETE /admin/users/1 HTTP/1.1\r\nX: y"
        if i == 1
        else None,
        headers={"host": "b.example\r\n\r\nDELETE /admin/users/2 HTTP/1.1"} if i == 2 else {},
    )
    for i, target in enumerate(["/first", "/middle", "/second"])
]


@pytest.fixture(scope="module")
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.close()


def _replay_and_check(
    recorder: RecordingServer, recs: list[SampleRecord], engine: str, preserve_host: bool
) -> None:
    recorder.reset()
    plan = ReplayPlan(
        target=recorder.url,
        engine=engine,
        concurrency=2,
        timeout_s=10,
        retries=0,
        preserve_host=preserve_host,
        headers=("X-Warm: 1",),
    )
    with tempfile.TemporaryDirectory() as tmp, ResultsWriter(Path(tmp) / "r.parquet") as sink:
        summary = replay(recs, plan, sink)
    heads, raw = recorder.snapshot()
    assert summary.sent + sum(summary.skipped.values()) == len(recs)
    assert summary.errors == {}, raw  # every prepared request was accepted by the engine
    assert len(heads) == summary.sent, raw  # no extra request
    for head in heads:
        assert head.problems() == [], raw
        assert head.method in (b"GET", b"HEAD"), raw  # no unsafe method
        assert not head.target.startswith(b"//")
        if not preserve_host:
            assert head.values(b"host") == [f"127.0.0.1:{recorder.port}".encode()], raw


_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}


@settings(max_examples=100, **_SETTINGS)  # type: ignore[arg-type]
@given(recs=records(), preserve_host=st.booleans())
@example(recs=ISSUE_CASE, preserve_host=True)
def test_fast_engine_sends_nothing_but_the_recorded_requests(
    recorder: RecordingServer, recs: list[SampleRecord], preserve_host: bool
) -> None:
    _replay_and_check(recorder, recs, "fast", preserve_host)


@settings(max_examples=60, **_SETTINGS)  # type: ignore[arg-type]
@given(recs=records(), preserve_host=st.booleans())
@example(recs=ISSUE_CASE, preserve_host=True)
def test_httpx_engine_sends_nothing_but_the_recorded_requests(
    recorder: RecordingServer, recs: list[SampleRecord], preserve_host: bool
) -> None:
    _replay_and_check(recorder, recs, "httpx", preserve_host)


@pytest.mark.slow
@settings(max_examples=4, **_SETTINGS)  # type: ignore[arg-type]
@given(
    recs=st.lists(records(), min_size=4, max_size=4).map(lambda g: [r for rs in g for r in rs]),
    preserve_host=st.booleans(),
)
@example(recs=ISSUE_CASE, preserve_host=True)
def test_locust_engine_sends_nothing_but_the_recorded_requests(
    recorder: RecordingServer, recs: list[SampleRecord], preserve_host: bool
) -> None:
    """Real master and worker processes per example: few examples of several records."""
    _replay_and_check(recorder, recs, "locust", preserve_host)
