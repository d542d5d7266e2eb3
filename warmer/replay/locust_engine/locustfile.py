"""Locustfile run by the Locust engine's worker processes; never imported by warmer itself.

It imports only the standard library and locust (whose gevent patching is why this runs
in its own processes). Configuration comes from the environment the engine sets:

- ``WARMER_SPOOL``: JSON-lines jobs (``seq``, ``due``, ``method``, ``path``, ``key``,
  ``headers``, ``body`` as latin-1 text or null), ``due`` in seconds after the start;
- ``WARMER_WORKER_INDEX`` / ``WARMER_WORKERS``: this worker takes jobs with
  ``seq-position % WORKERS == INDEX``;
- ``WARMER_PARTS``: directory for ``part-INDEX.jsonl`` (one result row per line) and the
  ``done-INDEX`` marker; a ``stop`` file there asks every user to stop;
- ``WARMER_CAPTURE``: comma-separated extra response headers to record (optional);
- ``WARMER_DURATION``: stop taking jobs this many seconds after the start (optional).

Times in the rows are epoch seconds; the parent converts them to its own origin.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

_SPOOL = os.environ.get("WARMER_SPOOL", "")
_INDEX = int(os.environ.get("WARMER_WORKER_INDEX", "0"))
_WORKERS = int(os.environ.get("WARMER_WORKERS", "1"))
_PARTS = os.environ.get("WARMER_PARTS", ".")
_DURATION = float(os.environ["WARMER_DURATION"]) if os.environ.get("WARMER_DURATION") else None
# warmer.model.results.RESPONSE_HEADERS (this file imports nothing of warmer's).
_CACHE = ("cache-status", "x-cache", "x-cache-status", "age", "cache-control", "expires",
          "date", "etag", "last-modified")  # fmt: skip
_EXTRA = tuple(h for h in os.environ.get("WARMER_CAPTURE", "").split(",") if h)
_KINDS = (
    ("refused", "refused"),
    ("reset", "reset"),
    ("timeout", "timeout"),
    ("timed out", "timeout"),
    ("ssl", "tls"),
    ("certificate", "tls"),
)


class _Share:
    """This worker's share of the jobs, its results part and its bookkeeping."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.inflight = 0
        self.finished = False
        self.stop_checked = 0.0
        self.stopped = False
        self._jobs = self._read()
        self.out = open(os.path.join(_PARTS, f"part-{_INDEX}.jsonl"), "w", buffering=1 << 16)  # noqa: SIM115

    def _read(self) -> Iterator[dict[str, Any]]:
        with open(_SPOOL) as fh:
            for position, line in enumerate(fh):
                if position % _WORKERS == _INDEX:
                    yield json.loads(line)

    def next_job(self) -> dict[str, Any] | None:
        if self.start is None:
            self.start = time.time()
        now = time.time()
        if now - self.stop_checked > 0.2:
            self.stop_checked = now
            self.stopped = os.path.exists(os.path.join(_PARTS, "stop"))
        if self.stopped or (_DURATION is not None and now - self.start >= _DURATION):
            return None
        job = next(self._jobs, None)
        if job is not None:
            self.inflight += 1  # taken until its row is written, even while waiting to be due
        return job

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        while self.inflight:
            gevent.sleep(0.02)
        self.out.close()
        with open(os.path.join(_PARTS, f"done-{_INDEX}"), "w") as fh:
            fh.write(str(time.time()))


SHARE = _Share()


def _error_kind(error: Any) -> str:
    text = f"{type(error).__name__} {error}".lower()
    for needle, kind in _KINDS:
        if needle in text:
            return kind
    return "other"


class Replay(FastHttpUser):
    """Takes jobs from the worker's share until it runs out, waits for due times."""

    wait_time = constant(0)

    @task
    def replay(self) -> None:
        job = SHARE.next_job()
        if job is None:
            SHARE.finish()
            raise StopUser()
        try:
            self._send(job)
        finally:
            SHARE.inflight -= 1

    def _send(self, job: dict[str, Any]) -> None:
        due_at = None
        if job["due"] is not None and SHARE.start is not None:
            due_at = SHARE.start + job["due"]
            delay = due_at - time.time()
            if delay > 0:
                gevent.sleep(delay)
        headers = dict(job["headers"])  # prepared by warmer: each name once, Host included
        if not any(name.lower() == "accept-encoding" for name in headers):
            headers["Accept-Encoding"] = "identity"
        body = job["body"].encode("latin-1") if job["body"] is not None else None
        sent = time.time()
        response = self.client.request(
            job["method"], job["path"], headers=headers, data=body,
            allow_redirects=False, name=job["method"],
        )  # fmt: skip
        end = time.time()
        error = getattr(response, "error", None)
        ok = error is None or bool(response.status_code)
        row = {
            "seq": job["seq"], "method": job["method"], "path": job["path"], "key": job["key"],
            "ts": job.get("ts"),
            "due": due_at, "sent": sent, "end": end,
            "status": response.status_code if ok else None,
            "bytes": len(response.content or b"") if ok else None,
            "error": None if ok else _error_kind(error),
        }  # fmt: skip
        if ok and response.headers:
            for name in _CACHE:
                row[name] = response.headers.get(name)
            for name in _EXTRA:
                row["extra:" + name] = response.headers.get(name)
        SHARE.out.write(json.dumps(row) + "\n")
