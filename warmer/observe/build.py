"""Build observers from ``[tiers.NAME]`` and ``[backend]``, and check they answer.

Header tiers (``cache-status``, ``header``) become :class:`HeaderRule` s read from the
replay results afterwards; the other sources become live :class:`Observer` s that the
``Sampler`` reads while traffic flows. The backend is keyed ``backend``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warmer.config.schema import Config, ObserveConfig, SourceConfig
from warmer.errors import ConfigError, ObserverUnreachableError
from warmer.observe.headers import HeaderRule
from warmer.observe.interface import Observer
from warmer.observe.parsers.selector import Selector, parse_selector

BACKEND = "backend"
"""Name of the backend's source in observer sets, timelines and tables."""

LIVE_SOURCES = ("redis", "memcached", "prometheus", "promql")


@dataclass(frozen=True)
class ObserverSet:
    """Every configured source: live observers and header rules, keyed by tier name."""

    tiers: tuple[str, ...] = ()
    """Tier names in lookup order (config order: L0 first)."""
    live: dict[str, Observer] = field(default_factory=dict)
    headers: dict[str, HeaderRule] = field(default_factory=dict)
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    """The config of every source, tiers and ``backend``."""

    @property
    def has_backend(self) -> bool:
        return BACKEND in self.sources

    def close(self) -> None:
        for observer in self.live.values():
            observer.close()


def build_observers(config: Config) -> ObserverSet:
    """Observers for the config's tiers and backend; ConfigError (with its path) if one is bad."""
    sources = dict(config.tiers)
    if config.backend is not None:
        sources[BACKEND] = config.backend
    live: dict[str, Observer] = {}
    headers: dict[str, HeaderRule] = {}
    for name, source in sources.items():
        if source.source in LIVE_SOURCES:
            live[name] = make_observer(name, source, config.observe)
        else:
            headers[name] = header_rule(name, source)
    return ObserverSet(tuple(config.tiers), live, headers, sources)


def header_rule(name: str, source: SourceConfig) -> HeaderRule:
    """The rule reading tier ``name`` from a recorded response header."""
    if source.source == "cache-status":
        return HeaderRule(name, "cache-status", cache=source.cache)
    return HeaderRule(name, (source.header or "").lower(), hop=source.hop)


def make_observer(name: str, source: SourceConfig, options: ObserveConfig) -> Observer:
    """The live observer of one ``redis``/``memcached``/``prometheus``/``promql`` source."""
    url, timeout = source.url or "", options.timeout_s
    if source.source == "redis":
        from warmer.observe.redis import RedisObserver

        return RedisObserver(name, url, timeout_s=timeout)
    if source.source == "memcached":
        from warmer.observe.memcached import MemcachedObserver

        try:
            return MemcachedObserver(name, url, timeout_s=timeout)
        except ValueError as exc:
            raise ConfigError(str(exc), path=f"{_path(name)}.url") from exc
    if source.source == "prometheus":
        from warmer.observe.prometheus import PrometheusObserver

        return PrometheusObserver(name, url, _selectors(name, source), timeout_s=timeout)
    from warmer.observe.promql import PromQLObserver

    return PromQLObserver(name, url, _queries(source), timeout_s=timeout)


def _queries(source: SourceConfig) -> dict[str, str]:
    found = {"hits": source.hits, "misses": source.misses, "requests": source.requests}
    return {k: v for k, v in found.items() if v}


def _selectors(name: str, source: SourceConfig) -> dict[str, Selector]:
    selectors = {}
    for key, text in _queries(source).items():
        try:
            selectors[key] = parse_selector(text, source.labels)
        except ValueError as exc:
            raise ConfigError(
                str(exc), hint='write metric{label="value"}', path=f"{_path(name)}.{key}"
            ) from exc
    return selectors


def _path(name: str) -> str:
    return BACKEND if name == BACKEND else f"tiers.{name}"


@dataclass(frozen=True)
class Reachability:
    """Preflight outcome of one source."""

    name: str
    source: str
    address: str
    required: bool
    reachable: bool | None
    """None for header tiers: they are read from responses, not reached."""
    error: str | None = None


def preflight(observers: ObserverSet) -> list[Reachability]:
    """Try every live source once; never raises (see :func:`require_reachable`)."""
    found = []
    for name, source in observers.sources.items():
        observer = observers.live.get(name)
        if observer is None:
            found.append(Reachability(name, source.source, "response headers", False, None))
            continue
        try:
            observer.preflight()
        except ObserverUnreachableError as exc:
            found.append(_unreached(name, source, observer.address, exc.message))
        else:
            found.append(Reachability(name, source.source, observer.address, source.required, True))
    return found


def _unreached(name: str, source: SourceConfig, address: str, error: str) -> Reachability:
    return Reachability(name, source.source, address, source.required, False, error)


def require_reachable(results: list[Reachability]) -> None:
    """Raise ObserverUnreachableError (exit 3) for the first required source that failed."""
    for result in results:
        if result.required and result.reachable is False:
            raise ObserverUnreachableError(
                result.error or f"cannot reach {result.name} at {result.address}",
                hint=f"check {_path(result.name)}.url, or set required = false to go on without it",
            )
