"""Observe a tier or the backend with instant PromQL queries against a Prometheus server.

Each query (``hits``, ``misses``, ``requests``) must return a cumulative counter value,
e.g. ``sum(candidate_backend_requests_total)`` — not a rate — so deltas between snapshots
mean what they mean for every other source. A vector result is summed; an empty vector is
no data. A query Prometheus rejects (``bad_data``) is a configuration error found at
preflight. Prometheus only knows what it scraped, so its figures trail by up to one scrape
interval: at each phase boundary the session calls :meth:`PromQLObserver.wait_for_scrape`,
which waits until every healthy target Prometheus scrapes (``/api/v1/targets``) has a
sample taken after the boundary, at most two of the slowest target's scrape intervals.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from warmer.errors import ConfigError
from warmer.observe._common import masked, unreachable
from warmer.observe._http import HttpClient, HttpError
from warmer.observe.interface import TierSnapshot


class QueryRejected(Exception):
    """Prometheus answered but refused the query (syntax, unknown function ...)."""


def result_value(payload: Any) -> float | None:
    """The number in an ``/api/v1/query`` answer: vector summed, scalar as is, empty = None.

    Raises QueryRejected for an error answer, ValueError for one that makes no sense.
    """
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    if payload.get("status") != "success":
        raise QueryRejected(f"{payload.get('errorType', 'error')}: {payload.get('error', '')}")
    data = payload["data"]
    kind, result = data["resultType"], data["result"]
    if kind == "scalar":
        return float(result[1])
    if kind != "vector":
        raise ValueError(f"expected an instant vector or scalar, got {kind}")
    if not result:
        return None
    return sum(float(series["value"][1]) for series in result)


class PromQLObserver:
    """Runs the configured queries against ``url``/api/v1/query once per snapshot."""

    source = "promql"

    def __init__(
        self, name: str, url: str, queries: Mapping[str, str], *, timeout_s: float = 2.0
    ) -> None:
        self.name = name
        self.address = masked(url)
        self._url = url.rstrip("/")
        self._queries = dict(queries)
        self._timeout_s = timeout_s
        self._client: HttpClient | None = None

    def __repr__(self) -> str:
        return f"PromQLObserver(name={self.name!r}, address={self.address!r})"

    def preflight(self) -> None:
        """Run every query once: exit 3 when unreachable, ConfigError when a query is refused."""
        for field, query in self._queries.items():
            try:
                self._query(query)
            except HttpError as exc:
                raise unreachable(self.name, "Prometheus", self.address, _reason(exc)) from exc
            except (QueryRejected, ValueError, KeyError, TypeError) as exc:
                where = "backend" if self.name == "backend" else f"tiers.{self.name}"
                raise ConfigError(
                    f"Prometheus rejected the query {query!r}: {exc}",
                    hint="write an instant query returning a cumulative counter, e.g. sum(x_total)",
                    path=f"{where}.{field}",
                ) from exc

    def snapshot(self) -> TierSnapshot | None:
        """Query results now, or None when Prometheus does not answer or refuses."""
        values: dict[str, float | None] = {}
        for field, query in self._queries.items():
            try:
                values[field] = self._query(query)
            except (HttpError, QueryRejected, ValueError, KeyError, TypeError):
                return None
        return TierSnapshot(
            at=time.monotonic(),
            hits=values.get("hits"),
            misses=values.get("misses"),
            requests=values.get("requests"),
        )

    def wait_for_scrape(self, after: float, *, poll_s: float = 0.05) -> bool:
        """Wait until Prometheus holds a sample of every healthy target newer than ``after``
        (epoch seconds); False when that did not happen within two scrape intervals (plus
        the observer's timeout). A separate connection: the sampler thread owns the other.
        """
        client = HttpClient(self._url, self._timeout_s)
        deadline: float | None = None
        try:
            while True:
                try:
                    targets = _targets(client, urlsplit(self._url).path)
                except (HttpError, ValueError, KeyError, TypeError):
                    return False
                if not targets:
                    return True  # nothing scraped: nothing to wait for
                if deadline is None:
                    slowest = max(interval for _, interval, _ in targets)
                    deadline = time.monotonic() + 2 * slowest + self._timeout_s
                if all(up and last > after for last, _, up in targets):
                    return True
                if time.monotonic() >= deadline:
                    return False
                time.sleep(poll_s)
        finally:
            client.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _query(self, query: str) -> float | None:
        if self._client is None:
            self._client = HttpClient(self._url, self._timeout_s)
        path = urlsplit(self._url).path  # a server behind a path prefix keeps it
        params = urlencode({"query": query}, quote_via=quote)
        response = self._client.get(f"{path}/api/v1/query?{params}")
        if response.status not in (200, 400, 422):  # 400/422 carry a JSON error body
            response.raise_for_status()
        try:
            payload = response.json()
        except ValueError as exc:
            raise HttpError(f"DecodingError: not JSON (HTTP {response.status})") from exc
        return result_value(payload)


def _reason(exc: HttpError) -> str:
    # The messages hold no URL, but a password must never reach a log line.
    return masked(str(exc))


def _targets(client: HttpClient, prefix: str) -> list[tuple[float, float, bool]]:
    """(last scrape epoch, scrape interval s, healthy) of every active target."""
    response = client.get(f"{prefix}/api/v1/targets?state=active")
    response.raise_for_status()
    payload = response.json()
    found = []
    for target in payload["data"]["activeTargets"]:
        last = _rfc3339(str(target.get("lastScrape", "")))
        interval = parse_duration(str(target.get("scrapeInterval", "1m")))
        found.append((last, interval, target.get("health") == "up"))
    return found


def _rfc3339(text: str) -> float:
    """Prometheus' ``lastScrape`` (nanosecond RFC 3339) as epoch seconds; 0 if never."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    if match is None:
        return 0.0
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    moment = dt.datetime.fromisoformat(match.group(1) + zone)
    return moment.timestamp() + float(match.group(2) or 0.0)


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """A Prometheus duration (``1s``, ``500ms``, ``1m30s``) in seconds; 60 if unreadable."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return 60.0
    return sum(int(n) * _UNITS[u] for n, u in parts)
