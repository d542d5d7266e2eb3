"""Build observers from ``[tiers.NAME]`` and ``[backend]``, and check they answer.

Header tiers (``cache-status``, ``header``) become :class:`HeaderRule` s read from the
replay results afterwards; the other sources become live :class:`Observer` s that the
``Sampler`` reads while traffic flows. The backend is keyed ``backend``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warmer.config.schema import Config, ObserveConfig, SourceConfig
from warmer.errors import ConfigError, ObserverUnreachableError
from warmer.model.results import RESPONSE_HEADERS
from warmer.observe.headers import HeaderRule
from warmer.observe.interface import Observer
from warmer.observe.parsers.selector import Selector, parse_selector
from warmer.observe.presets import preset

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
    """The config of every source: tiers, ``backend`` and cross-checks."""
    cross_checks: dict[str, str] = field(default_factory=dict)
    """Tier → the name of its cross-check source (``l1.cross_check``), counted apart."""

    @property
    def has_backend(self) -> bool:
        return BACKEND in self.sources

    def close(self) -> None:
        for observer in self.live.values():
            observer.close()


def build_observers(config: Config) -> ObserverSet:
    """Observers for the config's tiers and backend; ConfigError (with its path) if one is bad."""
    sources = _all_sources(config)
    live: dict[str, Observer] = {}
    headers: dict[str, HeaderRule] = {}
    for name, source in sources.items():
        if source.source in LIVE_SOURCES:
            live[name] = make_observer(name, source, config.observe)
        else:
            headers[name] = header_rule(name, source)
    checks = {t: cross_name(t) for t, source in config.tiers.items() if source.cross_check}
    return ObserverSet(tuple(config.tiers), live, headers, sources, checks)


def cross_name(tier: str) -> str:
    """The source name of ``tier``'s cross-check."""
    return f"{tier}.cross_check"


def _all_sources(config: Config) -> dict[str, SourceConfig]:
    sources = dict(config.tiers)
    for tier, source in config.tiers.items():
        if source.cross_check is not None:
            sources[cross_name(tier)] = source.cross_check
    if config.backend is not None:
        sources[BACKEND] = config.backend
    return sources


def header_rule(name: str, source: SourceConfig) -> HeaderRule:
    """The rule reading tier ``name`` from a recorded response header (preset applied)."""
    if source.source == "cache-status":
        return HeaderRule(name, "cache-status", cache=source.cache)
    words = {w.upper(): m for w, m in source.words.items()}
    if source.preset is None:
        header = (source.header or "").lower()
        return HeaderRule(name, header, hop=source.hop, words=words or None)
    try:
        row = preset(source.preset)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), path=f"{_path(name)}.preset") from exc
    hop = row.hop if source.hop == -1 else source.hop
    merged = {**row.words, **words} if row.kind == "words" else None
    header = (source.header or row.header).lower()
    return HeaderRule(name, header, hop=hop, words=merged, kind=row.kind)


def extra_headers(config: Config) -> tuple[str, ...]:
    """Response headers the configured header tiers read beyond the standard recorded ones
    (and the ones their presets show with them): what the replay must record."""
    names: list[str] = []
    for name, source in _all_sources(config).items():
        if source.source != "header":
            continue
        rule = header_rule(name, source)
        also = preset(source.preset).also if source.preset else ()
        names.extend(h for h in (rule.header, *also) if h not in RESPONSE_HEADERS)
    return tuple(dict.fromkeys(names))


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
    return BACKEND if name == BACKEND else f"tiers.{name}"  # l1.cross_check reads right too


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
