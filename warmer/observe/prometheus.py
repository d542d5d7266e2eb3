"""Observe a tier or the backend from a Prometheus ``/metrics`` endpoint scraped directly.

Each configured selector (``hits``, ``misses``, ``requests``) sums every exposed series of
its metric carrying all of its labels. A metric the endpoint declares but whose matching
series do not exist yet (prometheus_client creates labelled children on first use) counts
as 0; a metric the endpoint does not declare at all is no data. The text format is parsed
by prometheus_client's parser; when a line is garbage, the exposition is re-read line by
line so one bad line costs that line only (counted in ``malformed``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from warmer.observe._common import masked, unreachable
from warmer.observe._http import HttpClient, HttpError
from warmer.observe.interface import TierSnapshot
from warmer.observe.parsers.selector import Selector

START_TIME_SUFFIX = "start_time_seconds"
"""``process_start_time_seconds`` (prometheus_client's process collector) or an app's own
``<prefix>_start_time_seconds`` gauge: a change means the process restarted."""


class Exposition(NamedTuple):
    """Samples of one scrape: (name, labels, value), the declared family names, bad lines."""

    samples: list[tuple[str, dict[str, str], float]]
    families: frozenset[str]
    malformed: int


def parse_exposition(text: str) -> Exposition:
    """Parse Prometheus text format with prometheus_client; never raises."""
    try:
        return _collect(_families(text), 0)
    except ValueError:
        pass
    malformed = 0
    families: list[Any] = []
    for line in text.splitlines():
        try:
            families.extend(_families(line + "\n"))
        except ValueError:
            malformed += 1
    return _collect(families, malformed)


def _families(text: str) -> list[Any]:
    from prometheus_client.parser import text_string_to_metric_families

    try:
        return list(text_string_to_metric_families(text))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ValueError(str(exc)) from exc


def _collect(families: Iterable[Any], malformed: int) -> Exposition:
    samples: list[tuple[str, dict[str, str], float]] = []
    names: set[str] = set()
    for family in families:
        names.add(family.name)
        samples.extend((s.name, dict(s.labels), float(s.value)) for s in family.samples)
    return Exposition(samples, frozenset(names), malformed)


def select(exposition: Exposition, selector: Selector) -> float | None:
    """Sum of the matching series; 0 if the metric is declared without them, else None."""
    total, found = 0.0, False
    for name, labels, value in exposition.samples:
        if selector.matches(name, labels):
            total += value
            found = True
    if found or _declared(exposition.families, selector.metric):
        return total
    return None


def start_time(exposition: Exposition) -> float | None:
    """The process start time the endpoint exposes, preferring ``process_start_time_seconds``."""
    found = None
    for name, _, value in exposition.samples:
        if name == f"process_{START_TIME_SUFFIX}":
            return value
        if found is None and name.endswith(START_TIME_SUFFIX):
            found = value
    return found


def _declared(families: frozenset[str], metric: str) -> bool:
    return metric in families or metric.removesuffix("_total") in families


class PrometheusObserver:
    """Scrapes one ``/metrics`` URL per snapshot and sums the configured selectors."""

    source = "prometheus"

    def __init__(
        self, name: str, url: str, selectors: Mapping[str, Selector], *, timeout_s: float = 2.0
    ) -> None:
        self.name = name
        self.address = masked(url)
        self._url = url
        self._selectors = dict(selectors)
        self._timeout_s = timeout_s
        self._client: HttpClient | None = None

    def __repr__(self) -> str:
        return f"PrometheusObserver(name={self.name!r}, address={self.address!r})"

    def preflight(self) -> None:
        """Scrape once; ObserverUnreachableError (exit 3) when the endpoint does not answer."""
        try:
            self._scrape()
        except HttpError as exc:
            raise unreachable(
                self.name, "the metrics endpoint", self.address, _reason(exc)
            ) from exc

    def snapshot(self) -> TierSnapshot | None:
        """Selector sums now, or None when the endpoint does not answer."""
        try:
            text = self._scrape()
        except HttpError:
            return None
        exposition = parse_exposition(text)
        values = {field: select(exposition, sel) for field, sel in self._selectors.items()}
        start = start_time(exposition)
        return TierSnapshot(
            at=time.monotonic(),
            hits=values.get("hits"),
            misses=values.get("misses"),
            requests=values.get("requests"),
            instance=repr(start) if start else None,
            malformed=exposition.malformed,
        )

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _scrape(self) -> str:
        if self._client is None:
            self._client = HttpClient(self._url, self._timeout_s)
        response = self._client.get(_target(self._url), accept="text/plain")
        response.raise_for_status()
        return response.text()


def _target(url: str) -> str:
    """The request target of ``url``: its path (``/`` if none) and query."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _reason(exc: HttpError) -> str:
    """``HTTP 503`` or ``ConnectError: ...``; the URL's password never shows."""
    return masked(str(exc))
