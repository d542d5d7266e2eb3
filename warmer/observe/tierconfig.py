"""How a Redis or Memcached tier is configured, and what a bounded sample of its keys looks like.

One :func:`read_tier` per tier gives a :class:`TierReading`: the settings (Redis
``CONFIG GET`` and ``INFO``, Memcached ``stats settings`` and ``stats``), the remaining
TTLs, key prefixes and sizes of at most ``sample_keys`` keys, and the memory per key. A
setting the server will not tell (``CONFIG`` renamed or forbidden, as on managed Redis)
is "no data" with the reason, never zero; ``maxmemory`` and ``maxmemory_policy`` then
come from ``INFO``, which reports them too.

Redis keys are sampled with ``SCAN`` (the hash table's order, which is the keys' hash
order: a sample spread over the keyspace, and the whole keyspace when it is smaller than
the bound), then ``PTTL`` and ``MEMORY USAGE`` in one pipeline. On a Redis Cluster node
the sample covers that node's slots only. Memcached keys are sampled with
``lru_crawler metadump all``, read until the bound and then hung up on.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from warmer.checks.vocabulary import MetricValue
from warmer.errors import InputError, ObserverUnreachableError
from warmer.observe._common import masked, unreachable
from warmer.observe.parsers.redis_info import RedisInfo, parse_info

if TYPE_CHECKING:
    import redis

    from warmer.config.schema import Config
    from warmer.observe._tierconfig_memcached import MemcachedReader

REDIS_CONFIG: Mapping[str, str] = {
    "maxmemory": "maxmemory",
    "maxmemory-policy": "maxmemory_policy",
    "maxmemory-samples": "maxmemory_samples",
    "lfu-log-factor": "lfu_log_factor",
    "lfu-decay-time": "lfu_decay_time",
    "io-threads": "io_threads",
}
"""Redis ``CONFIG GET`` parameter → the setting's name in ``<tier>.config.*``."""

NUMERIC_SETTINGS = frozenset(
    {"maxmemory", "maxmemory_samples", "lfu_log_factor", "lfu_decay_time", "io_threads"}
    | {"item_size_max", "threads"}
)

NO_PREFIX = "(no prefix)"
"""The prefix of a key that holds no separator."""


@dataclass(frozen=True)
class TierReading:
    """What one tier's server said about itself and a bounded sample of its keys."""

    tier: str
    engine: str
    """``redis`` or ``memcached``."""
    address: str
    """Where it was read, password masked."""
    settings: dict[str, MetricValue] = field(default_factory=dict)
    """Setting name (``maxmemory``, ``maxmemory_policy`` ...) → value; None is no data."""
    no_data: dict[str, str] = field(default_factory=dict)
    """Setting (or ``ttl``, ``memory_per_key``) → why it has no value."""
    ttls_s: tuple[float, ...] = ()
    """Remaining TTL in seconds of every sampled key that has one."""
    sampled: int = 0
    """Keys in the sample (with and without a TTL)."""
    no_expiry: int = 0
    """Sampled keys without a TTL."""
    prefixes: dict[str, int] = field(default_factory=dict)
    """Key prefix (up to the first separator) → sampled keys with it."""
    memory_per_key_bytes: float | None = None
    memory_method: str = ""
    """How the memory per key was measured (``MEMORY USAGE of the sample`` ...)."""

    def ttl_quantile(self, q: float) -> float | None:
        """The ``q`` quantile (nearest rank) of the sampled TTLs; None without any."""
        return quantile(self.ttls_s, q)

    @property
    def no_expiry_rate(self) -> float | None:
        """Share of sampled keys without a TTL; None for an empty sample."""
        return self.no_expiry / self.sampled if self.sampled else None

    def metrics(self) -> dict[str, MetricValue]:
        """The reading in the checks' vocabulary (``l2.config.maxmemory_policy`` ...)."""
        name = self.tier
        metrics: dict[str, MetricValue] = {
            f"{name}.config.{key}": value for key, value in self.settings.items()
        }
        metrics[f"{name}.ttl.p50_s"] = self.ttl_quantile(0.5)
        metrics[f"{name}.ttl.p90_s"] = self.ttl_quantile(0.9)
        metrics[f"{name}.ttl.no_expiry_rate"] = self.no_expiry_rate
        metrics[f"{name}.memory_per_key_bytes"] = self.memory_per_key_bytes
        return metrics

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for ``evidence.json`` and ``warmer drift --json``."""
        return {
            "tier": self.tier,
            "engine": self.engine,
            "address": self.address,
            "settings": dict(self.settings),
            "no_data": dict(self.no_data),
            "sampled": self.sampled,
            "no_expiry": self.no_expiry,
            "ttl_p50_s": self.ttl_quantile(0.5),
            "ttl_p90_s": self.ttl_quantile(0.9),
            "prefixes": dict(self.prefixes),
            "memory_per_key_bytes": self.memory_per_key_bytes,
            "memory_method": self.memory_method,
        }


def quantile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def key_prefix(key: str, separators: str = ":") -> str:
    """The part of ``key`` before its first separator, or :data:`NO_PREFIX`."""
    cut = min((i for i in (key.find(s) for s in separators) if i >= 0), default=-1)
    return key[:cut] if cut > 0 else NO_PREFIX


def read_tier(
    tier: str,
    source: str,
    url: str,
    *,
    sample_keys: int = 1000,
    separators: str = ":",
    timeout_s: float = 2.0,
    setting: str = "url",
) -> TierReading:
    """Read tier ``tier`` (``source`` ``redis`` or ``memcached``) at ``url``.

    Raises ``ObserverUnreachableError`` (exit 3) when the server does not answer at all,
    its hint naming ``tiers.<tier>.<setting>``; a setting the server will not tell is no
    data in the reading. A malformed URL is an ``InputError`` (exit 2).
    """
    try:
        if source == "redis":
            reader: _RedisReader | MemcachedReader = _RedisReader(tier, url, timeout_s)
        elif source == "memcached":
            from warmer.observe._tierconfig_memcached import MemcachedReader

            reader = MemcachedReader(tier, url, timeout_s)
        else:
            raise ValueError(f"source {source!r} has no configuration to read")
    except ValueError as exc:
        where = setting if setting.startswith("--") else f"tiers.{tier}.{setting}"
        raise InputError(
            f"tier {tier}: cannot read {masked(url)}: {exc}",
            f"check {where} (Redis: redis://, rediss:// or unix://; Memcached: "
            "memcached://HOST:PORT, HOST:PORT or unix:///path)",
        ) from None
    try:
        return reader.read(sample_keys, separators)
    except ObserverUnreachableError as exc:
        where = setting if setting.startswith("--") else f"tiers.{tier}.{setting} in warmer.toml"
        hint = f"check {where}"
        raise ObserverUnreachableError(exc.message, hint) from exc.__cause__
    raise ValueError(f"tier {tier}: source {source!r} has no configuration to read")


def read_configured(
    config: Config, tier: str, source: str, url: str, setting: str = "url"
) -> TierReading:
    """:func:`read_tier` with the sampling settings of ``config``'s ``[observe]``."""
    observe = config.observe
    return read_tier(
        tier,
        source,
        url,
        sample_keys=observe.sample_keys,
        separators=observe.key_separators,
        timeout_s=observe.timeout_s,
        setting=setting,
    )


# --------------------------------------------------------------------------- Redis


class _RedisReader:
    def __init__(self, tier: str, url: str, timeout_s: float) -> None:
        from redis.connection import parse_url

        parse_url(url)  # type: ignore[no-untyped-call]  # ValueError before connecting
        self.tier = tier
        self.url = url
        self.address = masked(url)
        self.timeout_s = timeout_s

    def read(self, sample_keys: int, separators: str) -> TierReading:
        import redis

        try:
            client = self._connect()
            try:
                info, refused = _redis_info(client)
                settings, no_data = _redis_settings(client, info)
                if refused:  # what only INFO tells is missing for this one reason
                    no_data.update(dict.fromkeys(("version", "mode", "cluster_enabled"), refused))
                try:
                    sample = _redis_sample(client, info, sample_keys, separators)
                except redis.ResponseError as exc:  # an ACL without SCAN, PTTL or MEMORY
                    sample = _refused_sample(f"the key sample is not allowed ({exc})")
            finally:
                client.close()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise unreachable(self.tier, "Redis", self.address, _scrub(exc, self.url)) from exc
        no_data.update(sample.pop("no_data"))
        return TierReading(self.tier, "redis", self.address, settings, no_data, **sample)

    def _connect(self) -> redis.Redis:
        import redis

        client = redis.Redis.from_url(
            self.url,
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            retry_on_timeout=False,
        )
        client.set_response_callback("INFO", lambda response, **_: response)
        return client


def _scrub(exc: BaseException, url: str) -> str:
    from urllib.parse import urlsplit

    text = str(exc) or type(exc).__name__
    try:
        password = urlsplit(url).password
    except ValueError:
        return text
    return text.replace(unquote(password), "***") if password else text


def _text(raw: Any) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _redis_settings(
    client: redis.Redis, info: RedisInfo
) -> tuple[dict[str, MetricValue], dict[str, str]]:
    """``CONFIG GET`` of each parameter, INFO's version and mode; reasons for what is missing."""
    import redis

    settings: dict[str, MetricValue] = {}
    no_data: dict[str, str] = {}
    refused: str | None = None
    for parameter, name in REDIS_CONFIG.items():
        if refused is not None:
            settings[name], no_data[name] = None, refused
            continue
        try:
            reply = client.execute_command("CONFIG", "GET", parameter)  # type: ignore[no-untyped-call]
        except redis.ResponseError as exc:
            refused = f"CONFIG GET is renamed or not allowed on this server ({exc})"
            settings[name], no_data[name] = None, refused
            continue
        settings[name], why = _config_value(name, parameter, reply)
        if why:
            no_data[name] = why
    _from_info(settings, no_data, info)
    return settings, no_data


def _config_value(name: str, parameter: str, reply: Any) -> tuple[MetricValue, str | None]:
    """One parameter's value from a ``CONFIG GET`` reply (a flat list or a mapping)."""
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
    values = {_text(k): _text(v) for k, v in pairs}
    if parameter not in values:
        return None, f"this Redis has no {parameter} setting"
    return typed_setting(name, values[parameter]), None


def typed_setting(name: str, text: str) -> MetricValue:
    """A setting's text as a number when the setting is numeric, else as it is."""
    if name not in NUMERIC_SETTINGS:
        return text
    try:
        return float(text)
    except ValueError:
        return text


def _from_info(settings: dict[str, MetricValue], no_data: dict[str, str], info: RedisInfo) -> None:
    """Version, mode and cluster from ``INFO``; maxmemory and policy when CONFIG did not say."""
    fields = info.fields
    for name, key in (("maxmemory", "maxmemory"), ("maxmemory_policy", "maxmemory_policy")):
        if settings.get(name) is None and key in fields:
            settings[name] = typed_setting(name, str(fields[key]))
            no_data.pop(name, None)
    for name, key in (("version", "redis_version"), ("mode", "redis_mode")):
        settings[name] = str(fields[key]) if key in fields else None
        if key not in fields:
            no_data[name] = f"INFO has no {key}"
    enabled = fields.get("cluster_enabled")
    settings["cluster_enabled"] = None if enabled is None else str(enabled) == "1"
    if enabled is None:
        no_data["cluster_enabled"] = "INFO has no cluster_enabled"


def _redis_info(client: redis.Redis) -> tuple[RedisInfo, str | None]:
    """``INFO`` parsed, or an empty one and why (an ACL that forbids it)."""
    import redis

    try:
        return parse_info(_text(client.execute_command("INFO"))), None  # type: ignore[no-untyped-call]
    except redis.ResponseError as exc:
        return parse_info(""), f"INFO is not allowed on this server ({exc})"


def _refused_sample(reason: str) -> dict[str, Any]:
    return {
        "ttls_s": (),
        "sampled": 0,
        "no_expiry": 0,
        "prefixes": {},
        "memory_per_key_bytes": None,
        "memory_method": "",
        "no_data": {"ttl": reason, "memory_per_key": reason},
    }


def _redis_sample(
    client: redis.Redis, info: RedisInfo, bound: int, separators: str
) -> dict[str, Any]:
    """SCAN up to ``bound`` keys, then PTTL and MEMORY USAGE of each in one pipeline."""
    keys: list[bytes] = []
    cursor = 0
    for _ in range(max(10, bound // 10)):  # SCAN may return few keys per call; bound the calls
        cursor, batch = client.scan(cursor=cursor, count=min(bound, 1000))
        keys.extend(k if isinstance(k, bytes) else str(k).encode() for k in batch)
        if cursor == 0 or len(keys) >= bound:
            break
    keys = list(dict.fromkeys(keys))[:bound]  # SCAN may return a key twice
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.pttl(key)
        pipe.execute_command("MEMORY", "USAGE", key)  # type: ignore[no-untyped-call]
    replies = pipe.execute(raise_on_error=False) if keys else []
    return _summarise_redis(keys, replies, info, separators)


def _summarise_redis(
    keys: Sequence[bytes], replies: Sequence[Any], info: RedisInfo, separators: str
) -> dict[str, Any]:
    ttls: list[float] = []
    sizes: list[float] = []
    prefixes: Counter[str] = Counter()
    no_expiry = sampled = 0
    refused: str | None = None
    for key, ttl, size in zip(keys, replies[::2], replies[1::2], strict=True):
        if not isinstance(ttl, int) or ttl == -2:
            continue  # the key expired between SCAN and PTTL
        sampled += 1
        prefixes[key_prefix(key.decode("utf-8", "replace"), separators)] += 1
        if ttl == -1:
            no_expiry += 1
        else:
            ttls.append(ttl / 1000.0)
        if isinstance(size, int):
            sizes.append(float(size))
        elif isinstance(size, Exception):
            refused = str(size)
    no_data: dict[str, str] = {}
    if not sampled:
        no_data["ttl"] = "no key to sample: the keyspace is empty"
    memory, method = _memory_per_key(sizes, info)
    if memory is None:
        no_data["memory_per_key"] = "the keyspace is empty"
    elif refused and not sizes:
        method += f" (MEMORY USAGE refused: {refused})"
    return {
        "ttls_s": tuple(ttls),
        "sampled": sampled,
        "no_expiry": no_expiry,
        "prefixes": dict(prefixes),
        "memory_per_key_bytes": memory,
        "memory_method": method,
        "no_data": no_data,
    }


def _memory_per_key(sizes: Sequence[float], info: RedisInfo) -> tuple[float | None, str]:
    if sizes:
        return sum(sizes) / len(sizes), f"MEMORY USAGE of {len(sizes)} sampled keys"
    used, keys = info.number("used_memory"), info.keys
    if used is not None and keys:
        return used / keys, "used_memory / keys (INFO)"
    return None, ""
