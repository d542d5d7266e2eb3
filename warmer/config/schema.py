"""The configuration model: frozen dataclasses, one per ``warmer.toml`` table.

Each stage reads only its own table. Defaults here are the documented defaults; the
CLI overlays ``WARMER_*`` variables and flags on top (flag > env > file > default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from warmer.checks.grammar import Check, parse_checks
from warmer.config.limits import check_limits
from warmer.config.sizes import Capacity, parse_capacity, parse_duration
from warmer.config.urls import http_url_problem, url_problem
from warmer.credentials import mask_url

DEFAULT_SCRUB_HEADERS: tuple[str, ...] = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
    "x-access-token",
    "x-csrf-token",
    "x-xsrf-token",
    "x-amz-security-token",
    "api-key",
)
"""Request headers removed on import unless ``--keep-header`` names them, besides every
header whose name is a credential (``warmer/credentials.py``)."""

DEFAULT_SCRUB_PARAMS: tuple[str, ...] = (
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "signature",
    "sig",
    "session",
    "sessionid",
    "auth",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
)
"""Parameters whose values are replaced on import (matched case-insensitively), besides
every parameter whose name is a credential (``warmer/credentials.py``)."""


@dataclass(frozen=True)
class KeyConfig:
    """How a request maps to a cache key (``[sample.key]``)."""

    include_method: bool = True
    """Prefix the key with the method. HEAD is always keyed as GET (it reads the same
    object); false drops the method, so every method shares the path's key."""
    sort_params: bool = True
    """Query parameter order does not change the key."""
    ignore_params: tuple[str, ...] = ("utm_*", "gclid", "fbclid", "msclkid", "_")
    """Parameters (fnmatch patterns) that never change the response."""
    vary: tuple[str, ...] = ()
    """Request headers whose values are part of the key, as a cache's ``Vary`` would."""
    lowercase_path: bool = False
    """Treat ``/Product`` and ``/product`` as the same object."""


@dataclass(frozen=True)
class SampleConfig:
    """Import and analysis settings (``[sample]``)."""

    scrub_headers: tuple[str, ...] = DEFAULT_SCRUB_HEADERS
    """Request headers removed on import; ``--scrub-header`` adds to them, ``--keep-header``
    keeps one."""
    scrub_params: tuple[str, ...] = DEFAULT_SCRUB_PARAMS
    """Query parameters whose values are replaced on import (case-insensitive);
    ``--scrub-param`` adds to them."""
    keep_params: tuple[str, ...] = ()
    """Parameters never scrubbed although their names look like credentials."""
    redact: bool = False
    """Replace scrubbed values by plain ``REDACTED`` instead of a keyed pseudonym; every
    value of a parameter then shares one key (see docs/sample-schema.md)."""
    key: KeyConfig = field(default_factory=KeyConfig)
    """How a request maps to a cache key: the table ``[sample.key]``."""
    warm_fraction: float = 0.8
    """Share of the sample (by time) that warms; the rest verifies."""

    def __post_init__(self) -> None:
        check_limits("sample", self)


@dataclass(frozen=True)
class SafetyConfig:
    """What replay must never do (``[safety]``)."""

    protected_hosts: tuple[str, ...] = ()
    """Host names, addresses, CIDR blocks (``10.0.0.0/8``) or fnmatch patterns
    (``*.prod.example.com``) refused as targets; compared as hosts, every spelling of an
    address and resolved names included (``warmer/replay/hosts.py``)."""
    allow_methods: tuple[str, ...] = ("GET", "HEAD")
    """Methods replayed; others are skipped and counted."""


@dataclass(frozen=True)
class ReplayConfig:
    """Defaults for ``warmer replay`` and the gate's phases (``[replay]``)."""

    target: str | None = None
    """Candidate base URL: http://, https:// or http+unix://%2Fpath%2Fto.sock."""
    unix_socket: str | None = None
    """Connect to this Unix socket; the target URL still gives Host and scheme."""
    pacing: Literal["recorded", "rate", "max"] = "max"
    """How fast to send: the recorded timing (× ``speed``), a constant ``rate``, or as fast
    as ``concurrency`` allows."""
    speed: float = 1.0
    """recorded: recorded gaps are divided by this."""
    max_gap_s: float | None = None
    """recorded: idle gaps (after the speed-up) are capped at this many seconds."""
    rate: float | None = None
    """rate: requests per second (open model)."""
    ramp_s: float = 0.0
    """rate: seconds over which the rate grows linearly from ``ramp_from``."""
    ramp_from: float = 0.0
    """rate: requests per second at the start of the ramp."""
    concurrency: int = 64
    """Requests in flight at most (keep-alive connections of the fast engine)."""
    order: Literal["recorded", "hot-first"] = "recorded"
    """Order of the requests: as recorded, or the most requested keys first (in the gate, the
    warm phase only: verify keeps the recorded order). hot-first needs a pacing other than
    recorded."""
    engine: str = "fast"
    """fast (default), httpx (HTTP/2, proxies) or locust (master/worker processes)."""
    timeout_s: float = 10.0
    """Seconds one request may take before it counts as a timeout error."""
    retries: int = 2
    """Extra attempts after connection errors only; responses are never retried."""
    headers: dict[str, str] = field(default_factory=dict)
    """Added to every request, overriding recorded headers of the same name."""
    drop_headers: tuple[str, ...] = ()
    """Recorded headers (fnmatch patterns) not sent."""
    preserve_host: bool = False
    """Send the recorded Host header instead of the target's."""
    insecure: bool = False
    """Do not verify the target's TLS certificate."""
    ca_cert: str | None = None
    """PEM file of the CA that signed the target's certificate."""
    processes: int = 1
    """Split the replay over this many processes (shards merged into one results file);
    with the locust engine, the workers started on this machine (``--workers``)."""
    fail_after: int = 100
    """End a replay (and a gate, exit 3) after this many failed requests in a row: no
    response or a 5xx. 0 never ends it on a streak."""
    fail_share: float = 0.5
    """End a replay when more than this share of the last ``fail_window`` requests failed;
    1 never does."""
    fail_window: int = 1000
    """Requests ``fail_share`` is computed over."""
    expect_workers: int | None = None
    """locust: workers to wait for before sending (default ``processes``); the others join
    with ``warmer locust-worker --master HOST:PORT``."""
    master_bind: str | None = None
    """locust: ``HOST[:PORT]`` the master listens on (default 127.0.0.1, a free port)."""
    workers_timeout_s: float = 60.0
    """locust: how long to wait for the expected workers (then exit 3)."""
    protect: tuple[str, ...] = ()
    """Limits the backend must stay within while the gate warms, in the check language over
    live metrics, e.g. ``["backend.rps <= 800", "errors.rate < 0.01", "latency.p99_ms <= 200"]``
    (``backend.rps`` needs a ``[backend]`` source). Warming then paces itself: the rate grows
    additively while every limit holds with room to spare and is cut multiplicatively when
    one is broken (AIMD), starting from ``protect_start_rate`` (pacing max) or ``rate``
    (pacing rate, never exceeded). Parsed when the file loads."""
    protect_start_rate: float = 100.0
    """Requests per second a protected warm phase starts at under ``pacing = "max"``."""
    protect_interval_s: float = 0.5
    """Seconds between two decisions of the protection controller."""

    def __post_init__(self) -> None:
        check_limits("replay", self)  # NaN, infinities, negatives: exit 2, nothing sent
        # Limits are parsed when the config loads: a typo is exit 2 before any traffic.
        checks = parse_checks(self.protect, where="replay.protect", vocabulary="protect")
        for check in checks:
            if check.op not in ("<", "<="):
                raise ValueError(f"protect: {check.text!r} must be an upper limit (< or <=)")


HEADER_WORDS: tuple[str, ...] = ("hit", "stale", "revalidated", "miss", "bypass")
"""What a status word of a ``header`` tier may mean (``warmer/observe/presets.py``)."""

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")

SOURCE_NEEDS: dict[str, tuple[str, ...]] = {
    "cache-status": ("cache",),
    "header": (),
    "redis": ("url",),
    "memcached": ("url",),
    "prometheus": ("url",),
    "promql": ("url",),
}
"""Settings each ``source`` requires."""


@dataclass(frozen=True)
class SourceConfig:
    """Where a tier's (or the backend's) truth comes from (``[tiers.NAME]``, ``[backend]``).

    ``source`` picks the observer; the other fields are read by that observer only::

        [tiers.l0]                       # RFC 9211 Cache-Status member named "l0"
        source = "cache-status"
        cache = "l0"
        [tiers.l1]                       # Redis INFO keyspace_hits / keyspace_misses
        source = "redis"
        url = "unix://:${L1_PASSWORD}@/run/redis/l1.sock?db=0"
        [tiers.l2]                       # counters exposed on a /metrics endpoint
        source = "prometheus"
        url = "http://candidate:8000/metrics"
        hits = 'candidate_cache_requests_total{tier="l2",result="hit"}'
        misses = 'candidate_cache_requests_total{tier="l2",result="miss"}'
        [backend]                        # PromQL against a Prometheus server
        source = "promql"
        url = "http://prometheus:9090"
        requests = 'sum(candidate_backend_requests_total)'

    Header tiers (``cache-status``, ``header``) are computed from the recorded responses;
    the others are sampled live while traffic flows.
    """

    source: Literal["cache-status", "header", "redis", "memcached", "prometheus", "promql"]
    """The observer that reads this tier (or the backend)."""
    cache: str | None = None
    """``cache-status``: the cache name in the RFC 9211 header."""
    preset: str | None = None
    """``header``: a vendor's way of saying hit or miss (``nginx``, ``varnish``,
    ``cloudflare``, ``fastly``, ``akamai``, ``cloudfront``, ``squid``, ``age``)."""
    header: str | None = None
    """``header``: the response header to read (any name, case-insensitive); with a
    preset, overrides the preset's header (nginx's words in ``x-proxy-cache``)."""
    words: dict[str, Literal["hit", "stale", "revalidated", "miss", "bypass"]] = field(
        default_factory=dict
    )
    """``header``: status word → meaning, added to (or replacing) the preset's words."""
    hop: int | Literal["any"] = -1
    """``header``: which hop of a comma chain is this tier (-1: the last one; ``any``: a
    hit at any hop, as for a CDN whose shield or edge may answer)."""
    cross_check: SourceConfig | None = None
    """A second source counting the same cache (``[tiers.NAME.cross_check]``): its hit
    rate is reported beside the tier's (``hit_rate.NAME.cross_check``), never counted
    as a tier of its own."""
    url: str | None = None
    """Where to connect; may hold ``${ENV}``. redis: ``redis://``, ``rediss://`` (TLS) or
    ``unix://`` with an optional ``user:password@``; memcached: ``host:port``,
    ``memcached://host:port`` or ``unix:///path``; prometheus: the ``/metrics`` URL;
    promql: the Prometheus server's base URL."""
    hits: str | None = None
    """prometheus: selector (``name{label="v"}``) for hits; promql: a query for hits."""
    misses: str | None = None
    """prometheus / promql: selector or query for misses."""
    requests: str | None = None
    """prometheus / promql, usually for ``[backend]``: selector or query counting requests
    that reached the backend."""
    labels: dict[str, str] = field(default_factory=dict)
    """prometheus: label matchers added to every selector above."""
    required: bool = True
    """A required source that cannot be reached at preflight fails the run with exit 3."""
    shared: bool = False
    """The tier also serves other traffic; its counts are reported as shared."""
    capacity: int | str | None = None
    """How much the tier holds: objects (``10000`` or ``"10000 objects"``) or bytes
    (``"512MB"``, ``"2GB"``; binary multiples, as Redis counts ``maxmemory``). Tier
    simulation and the capacity diagnosis read it; unset, a Redis tier's ``maxmemory`` and
    a Memcached tier's ``limit_maxbytes`` (divided by the memory per key they report) stand
    in, and other tiers count as unbounded."""
    ttl_s: float | str | None = None
    """How long an entry stays fresh in this tier (its TTL), for tier simulation and the
    capacity diagnosis: seconds, or a duration such as ``"90s"``, ``"5m"``, ``"1h"``;
    unset, entries never expire."""
    eviction: Literal["lru", "lfu"] = "lru"
    """What the tier drops when it is full, for tier simulation: the least recently (lru) or
    the least frequently (lfu) used entry."""
    baseline_url: str | None = None
    """redis / memcached: the same tier of the running release (production), in the form
    of ``url``; ``warmer drift`` and ``[gate] drift = true`` compare this tier with it. It
    is only read (``INFO``, ``CONFIG GET``, ``SCAN``, ``PTTL``, ``MEMORY USAGE``; Memcached
    ``stats`` and ``lru_crawler metadump``), never written."""

    def __post_init__(self) -> None:
        self.limit()  # a bad capacity or TTL is a config error naming this table
        self.ttl_seconds()
        for name in SOURCE_NEEDS[self.source]:
            if not getattr(self, name):
                raise ValueError(f"{name} is required when source = {self.source!r}")
        problem = url_problem(self.source, self.url) if self.url else None
        if problem:
            raise ValueError(f"url: {problem}")
        if self.source == "header":
            self._check_header()
        if self.cross_check is not None and self.cross_check.cross_check is not None:
            raise ValueError("a cross_check cannot have a cross_check of its own")
        if self.baseline_url and self.source not in ("redis", "memcached"):
            raise ValueError("baseline_url needs source = 'redis' or 'memcached'")
        problem = url_problem(self.source, self.baseline_url) if self.baseline_url else None
        if problem:
            raise ValueError(f"baseline_url: {problem}")
        if self.source in ("prometheus", "promql") and not (
            self.hits or self.misses or self.requests
        ):
            raise ValueError(f"source = {self.source!r} needs hits/misses or requests")

    def _check_header(self) -> None:
        # Preset names are checked by the observe stage, which owns the table.
        if self.preset is None and not self.header:
            raise ValueError("source = 'header' needs header (a response header) or preset")
        name = (self.header or "").lower()
        if name and not set(name) <= _TOKEN_CHARS:
            raise ValueError(f"header {self.header!r} is not a header name")

    def limit(self) -> Capacity | None:
        """``capacity`` parsed (None when unset)."""
        try:
            return None if self.capacity is None else parse_capacity(self.capacity)
        except ValueError as exc:
            raise ValueError(f"capacity: {exc}") from None

    def ttl_seconds(self) -> float | None:
        """``ttl_s`` in seconds (None when unset)."""
        try:
            return None if self.ttl_s is None else parse_duration(self.ttl_s)
        except ValueError as exc:
            raise ValueError(f"ttl_s: {exc}") from None

    def __repr__(self) -> str:
        # The URL may carry a password substituted from the environment.
        url = mask_url(self.url) if self.url else None
        base = mask_url(self.baseline_url) if self.baseline_url else None
        return (
            f"SourceConfig(source={self.source!r}, url={url!r}, cache={self.cache!r}, "
            f"baseline_url={base!r})"
        )


@dataclass(frozen=True)
class ObserveConfig:
    """Sampling of observers (``[observe]``)."""

    interval_s: float = 1.0
    """Seconds between two samples of every live observer while traffic flows."""
    timeout_s: float = 2.0
    """Connect and read timeout of one observer request."""
    consistency_tolerance: float = 0.05
    """Largest gap allowed between the offload implied by tier counts and the backend's."""
    lost_after_s: float = 5.0
    """A required source that answers no read for this long while traffic flows ends the
    run with exit 3 (a tier that went away mid-run is never "unused", never a pass)."""
    sample_keys: int = 1000
    """Keys sampled per Redis/Memcached tier (``SCAN`` / ``lru_crawler metadump``, bounded)
    for its TTL distribution, key-prefix mix and memory per key (the gate's ``tiers`` and
    ``drift`` steps, ``warmer drift``)."""
    key_separators: str = ":"
    """Characters that end a key's prefix (``user:42`` → ``user``) in the prefix mix."""

    def __post_init__(self) -> None:
        check_limits("observe", self)
        if not self.key_separators:
            raise ValueError("key_separators must not be empty")


DRIFT_MUST_MATCH: tuple[str, ...] = (
    "maxmemory_policy",
    "maxmemory_samples",
    "lfu_log_factor",
    "lfu_decay_time",
    "mode",
    "cluster_enabled",
    "item_size_max",
    "evictions",
)
"""Settings that must be equal on baseline and candidate unless ``[drift] must_match`` says
otherwise."""


@dataclass(frozen=True)
class DriftConfig:
    """Tolerances of ``warmer drift`` and the gate's ``drift`` step (``[drift]``).

    Each tier with a ``baseline_url`` is compared with its baseline; a difference beyond
    one of these is a drift (``warmer drift`` exits 1; the gate's ``drift.failures``).
    """

    must_match: tuple[str, ...] = DRIFT_MUST_MATCH
    """Settings (names of ``<tier>.config.*``) that must be equal on both sides; the
    others (version, io_threads, threads) are shown but not judged."""
    maxmemory_ratio: float = 0.2
    """Largest relative difference of the memory limit: candidate / baseline within
    1 ± this (0 requires equal limits)."""
    memory_per_key_ratio: float = 0.5
    """Largest relative difference of the memory per key: candidate / baseline within
    1 ± this."""
    ttl_compare: Literal["upper", "distribution"] = "upper"
    """How TTLs are judged. Servers report the *remaining* TTL of a key, which depends on
    when it was written: a cache that has served for hours holds remaining TTLs spread
    from 0 to the TTL, a freshly warmed candidate holds them all near the TTL, although
    both set the same one. ``upper`` (default, right for the gate and for a candidate
    deployed minutes ago) judges the 99th percentile of the remaining TTLs, which
    estimates the TTL set on both sides (``ttl_ratio``), and shows the Kolmogorov–Smirnov
    test without judging it. ``distribution`` judges the two-sample Kolmogorov–Smirnov
    test (``ttl_p_value``, ``ttl_max_statistic``): for two caches that have both served
    for longer than their TTLs (staging against production)."""
    ttl_ratio: float = 0.5
    """upper: the candidate's 99th percentile remaining TTL over the baseline's must lie
    within 1 ± this."""
    ttl_p_value: float = 0.01
    """distribution: the TTL distributions drift when the Kolmogorov–Smirnov p-value is
    below this ..."""
    ttl_max_statistic: float = 0.2
    """... and its statistic D (largest gap between the two cumulative distributions)
    exceeds this, so a large sample's tiny but significant difference is not a drift."""
    no_expiry_tolerance: float = 0.05
    """Largest difference between the shares of sampled keys without a TTL."""
    prefix_share_tolerance: float = 0.1
    """Largest difference of one key prefix's share of the sample (``user`` 40 % against
    25 % is 0.15)."""
    min_keys: int = 20
    """Fewer sampled keys (with a TTL, for the TTL test) on either side is no data for the
    sample-based comparisons rather than a verdict."""
    max_prefix_rows: int = 10
    """Prefixes shown per tier, the largest first; a drift among the others is one row."""

    def __post_init__(self) -> None:
        from warmer.checks.vocabulary import resolve
        from warmer.errors import ConfigError

        for name in self.must_match:
            try:
                resolve(f"tier.config.{name}")
            except ConfigError:
                raise ValueError(f"must_match: {name!r} is not a tier setting") from None
        check_limits("drift", self)


@dataclass(frozen=True)
class GateConfig:
    """The deploy gate (``[gate]``)."""

    sample: str | None = None
    """The sample to warm and verify with (``--sample``)."""
    checks: tuple[str, ...] = ()
    """Check expressions, e.g. ``hit_rate.l0 >= 85%`` (grammar and metrics in docs/gate.md);
    parsed when the file loads, ``--check`` adds to them."""
    warm_fraction: float | None = None
    """Overrides ``sample.warm_fraction`` for the split when set."""
    warm_duration_s: float | None = None
    """Warm with the first this many recorded seconds instead of a fraction."""
    settle_s: float = 2.0
    """Pause in seconds between warm and verify, so that cache writes still in flight land."""
    run_dir: str = "warmer-runs"
    """Where each run's directory (``<run id>``) is created; ``--run-dir`` names one exactly."""
    reports: tuple[str, ...] = ("json", "md", "html", "junit")
    """Reports written into the run directory: ``json``, ``md``, ``html``, ``junit``."""
    no_data: Literal["pass", "fail"] = "fail"
    """What a check whose metric has no data means, unless it says ``on no_data ...``."""
    warm_until: tuple[str, ...] = ()
    """Stop warming as soon as these hold on the live windowed hit rate, e.g.
    ``["hit_rate.l0 >= 0.9"]`` (``hit_rate.<tier>`` or ``hit_rate.effective``, read from the
    responses' headers over the last ``warm_window`` lookups, holding for three readings in a
    row, half a second apart). ``--warm-until`` adds to them."""
    warm_window: int = 1000
    """Lookups the live windowed hit rate of ``warm_until`` is computed over."""
    warm_margin: float = 0.02
    """hot-first: the warm plan stops adding keys once its predicted hit rate reaches the
    highest ``hit_rate`` check threshold plus this."""
    drift: bool = False
    """Compare every tier that has a ``baseline_url`` with its baseline (the ``drift`` step,
    after warm and settle, before verify: the candidate's key sample then holds what it
    wrote): the side-by-side table goes in the report, and ``drift.failures`` /
    ``drift.<tier>.failures`` are check metrics (``--drift``; ``docs/drift.md``)."""
    baseline: str | None = None
    """The running release's base URL (``--baseline``): after verify, the verify part is
    replayed to it and to the candidate at the same time and the two are compared
    (``compare.*`` metrics, ``[compare]``; docs/compare.md)."""
    max_skip_rate: float = 0.05
    """Largest share of a phase's records that may be skipped as not sendable as recorded
    (methods the safety rules skip do not count): the gate checks ``skipped.rate`` and
    ``warm.skipped.rate`` against it unless a check names them. 1 turns the checks off."""

    def __post_init__(self) -> None:
        # Checks are parsed when the config loads, so a typo is exit 2 before any traffic;
        # tier names are validated later against [tiers] (see warmer.gate.run.prepare).
        check_limits("gate", self)
        if self.baseline is not None:
            problem = http_url_problem(self.baseline)
            if problem:
                raise ValueError(f"baseline: {problem}")
        parse_checks(self.checks)
        for check in parse_checks(self.warm_until, where="gate.warm_until"):
            if not _is_hit_rate_floor(check):
                raise ValueError(
                    f"warm_until: {check.text!r} must be hit_rate.<tier> or "
                    "hit_rate.effective with >= or >"
                )


def _is_hit_rate_floor(check: Check) -> bool:
    return (
        check.metric.startswith("hit_rate.") and check.op in (">", ">=") and check.phase == "verify"
    )


@dataclass(frozen=True)
class StaleReadsConfig:
    """The stale-read probe after verify (``[stale_reads]``; the table turns it on).

    A bounded random sample of the keys that were cache hits during verify is fetched
    twice: through the candidate, and around its caches (``origin``, or the candidate
    with ``bypass_headers``). A key whose ``ETag``, ``Last-Modified`` or body differs is a
    stale read (docs/stale-reads.md)."""

    sample: int = 200
    """Distinct hit keys re-fetched at most (a uniform random sample of them, seeded)."""
    seed: int = 0
    """Seeds the choice of keys, so two runs of one sample check the same keys."""
    origin: str | None = None
    """Base URL of the origin behind the caches; each key's request target is appended."""
    bypass_headers: dict[str, str] = field(default_factory=dict)
    """Headers that make the candidate skip its caches, e.g. ``{"Cache-Control" =
    "no-cache"}`` or a bypass header with a credential (``"${BYPASS_TOKEN}"``); values are
    masked in every report."""
    min_keys: int = 20
    """Fewer keys checked than this: ``stale_reads.rate`` has no data, with the reason."""
    concurrency: int = 8
    """Requests in flight at once."""
    examples: int = 10
    """Stale keys listed in the report at most."""

    def __post_init__(self) -> None:
        if (self.origin is None) == (not self.bypass_headers):
            raise ValueError("set exactly one of origin and bypass_headers")
        if self.sample < 1 or self.min_keys < 1 or self.concurrency < 1 or self.examples < 0:
            raise ValueError("sample, min_keys and concurrency must be at least 1")


@dataclass(frozen=True)
class InvalidationConfig:
    """The invalidation probe after verify (``[invalidation]``; the table turns it on).

    Read ``read`` through the candidate, write a change (``write_url`` or
    ``redis_command``), then read ``read`` again until the answer differs from the first
    one (``ETag``, ``Last-Modified``, body) or ``within_s`` has passed."""

    read: str
    """The request target read back through the candidate, e.g. ``/product/42``."""
    write_url: str | None = None
    """URL the change is written through (an admin endpoint, the origin's API)."""
    write_method: str = "POST"
    """HTTP method of the write."""
    write_body: str = ""
    """Body of the write (masked in every report, like ``write_headers``)."""
    write_headers: dict[str, str] = field(default_factory=dict)
    """Headers of the write (credentials from ``${ENV}``; masked in every report)."""
    redis_url: str | None = None
    """Redis the change is written to with ``redis_command`` (instead of a URL)."""
    redis_command: tuple[str, ...] = ()
    """The command and its arguments, e.g. ``["DEL", "candidate:/product/42"]``."""
    within_s: float = 5.0
    """The change must show within this many seconds (``invalidation.ok``)."""
    interval_s: float = 0.1
    """Pause between two reads after the write."""

    def __post_init__(self) -> None:
        if (self.write_url is None) == (self.redis_url is None):
            raise ValueError("set exactly one of write_url and redis_url")
        if self.redis_url is not None and not self.redis_command:
            raise ValueError("redis_url needs redis_command")
        if not self.read.startswith("/"):
            raise ValueError("read must be a request target starting with '/'")
        if self.within_s <= 0 or self.interval_s <= 0:
            raise ValueError("within_s and interval_s must be positive")


@dataclass(frozen=True)
class CompareConfig:
    """How the candidate is compared with ``gate.baseline`` (``[compare]``)."""

    requests: int | None = None
    """Requests of the verify part sent to each side at most (None: all of it)."""
    concurrency: int = 4
    """Pairs of requests in flight at once. Low on purpose: the comparison judges latency,
    and a side pushed into queueing measures its queue (and the machine's scheduler)
    rather than itself; raise it only for sides that take that load easily."""
    rate: float | None = None
    """Pairs sent per second (None: as fast as ``concurrency`` allows). Latency is judged
    over windows of ``window_s`` seconds; pacing spreads a small verify part over enough
    of them."""
    window_s: float = 1.0
    """Latency is judged only when the candidate was slower (or faster) across the run: in
    a significant share of consecutive windows of this many seconds (a sign test; at
    ``alpha`` 0.05 it needs at least 6 windows, else latency has no verdict)."""
    confidence: float = 0.95
    """Confidence level of the intervals of the differences."""
    alpha: float = 0.05
    """A difference counts as significant (``worse``/``better`` in the report) below this p."""
    min_requests: int = 200
    """Fewer answered requests a side: every ``compare.*`` metric has no data (inconclusive)."""
    min_lookups: int = 100
    """Fewer lookups a side for a tier: that tier's hit-rate comparison has no data."""

    def __post_init__(self) -> None:
        if not 0.5 < self.confidence < 1 or not 0 < self.alpha < 1:
            raise ValueError("confidence must be in (0.5, 1) and alpha in (0, 1)")
        if self.min_requests < 2 or self.min_lookups < 1:
            raise ValueError("min_requests must be at least 2 and min_lookups at least 1")
        if self.requests is not None and self.requests < 1:
            raise ValueError("requests must be at least 1")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if (self.rate is not None and self.rate <= 0) or self.window_s <= 0:
            raise ValueError("rate and window_s must be positive")


@dataclass(frozen=True)
class Config:
    """The whole ``warmer.toml``."""

    sample: SampleConfig = field(default_factory=SampleConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    tiers: dict[str, SourceConfig] = field(default_factory=dict)
    backend: SourceConfig | None = None
    observe: ObserveConfig = field(default_factory=ObserveConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    stale_reads: StaleReadsConfig | None = None
    invalidation: InvalidationConfig | None = None
    compare: CompareConfig = field(default_factory=CompareConfig)
