"""Observe a tier or the backend with instant PromQL queries against a Prometheus server.

Each query (``hits``, ``misses``, ``requests``) must return a cumulative counter value,
e.g. ``sum(candidate_backend_requests_total)`` — not a rate — so deltas between snapshots
mean what they mean for every other source. A vector result is summed; an empty vector is
no data. A query Prometheus rejects (``bad_data``) is a configuration error found at
preflight. Prometheus only knows what it scraped, so its figures trail by up to one scrape
interval: wait that long after traffic stops before the final snapshot.
"""

from __future__ import annotations

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
