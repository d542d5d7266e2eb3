"""Stale reads: keys that were cache hits during verify, fetched through and around the cache.

While verify runs, a :class:`HitSampler` listens to the results writer and keeps a uniform
random sample of the distinct keys some tier answered (bottom-k by a seeded hash of the
key: bounded memory, the same keys for the same sample and seed, each key as likely as
any other whatever its popularity). After verify, :class:`StaleReads` fetches each
sampled key twice — through the candidate, then around its caches (``[stale_reads]
origin``, or the candidate with ``bypass_headers``) — and compares ``ETag``,
``Last-Modified`` and the body digest. A key whose two answers differ is a stale read:
the cache serves what the origin no longer has.

Metrics: ``stale_reads.rate`` (stale / checked; no data, with the reason, when fewer than
``min_keys`` keys could be checked — too few hits is not a stale-read rate of 0),
``stale_reads.checked`` and ``stale_reads.stale``. The report lists example stale keys,
credentials masked (``warmer.credentials.mask_url``) and control characters escaped.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warmer.credentials import mask_url
from warmer.gate.steps._fetch import Version, client, fetch
from warmer.gate.steps.base import RunState, StepResult
from warmer.model.text import printable

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.config.schema import StaleReadsConfig
    from warmer.model.run import StaleKey
    from warmer.model.run import StaleReads as StaleReadsReport
    from warmer.observe.headers import HeaderRule


@dataclass(frozen=True)
class HitKey:
    """A key some tier answered during verify, and the request that showed it."""

    key: str
    target: str
    """The request target as sent (the candidate's URL prefix included)."""


class HitSampler:
    """A results-writer listener keeping a uniform sample of at most ``size`` distinct hit keys.

    Bottom-k sampling: each key gets a priority from a seeded hash; the ``size`` keys with
    the lowest priorities are a uniform random sample of every distinct key seen. The
    priorities of all hit rows are kept as 8-byte integers to count distinct hit keys.
    """

    def __init__(self, rules: Sequence[HeaderRule], size: int, seed: int = 0) -> None:
        self.rules = tuple(rules)
        self.size = size
        self._salt = seed.to_bytes(8, "big", signed=True)
        self._kept: dict[str, tuple[int, str]] = {}
        self._priorities: list[Any] = []
        self._lock = threading.Lock()
        self.batches = 0

    def __call__(self, batch: pa.RecordBatch) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from warmer.observe.headers import hits_and_lookups, outcomes

        if batch.num_rows == 0:
            return
        table = pa.Table.from_batches([batch])
        hit = np.zeros(table.num_rows, dtype=bool)
        for rule in self.rules:
            hit |= hits_and_lookups(outcomes(table, rule))[0]
        ok = np.asarray(pc.fill_null(pc.equal(table.column("status"), 200), False), dtype=bool)
        rows = table.filter(pa.array(hit & ok))
        seen: dict[str, str] = dict(
            zip(rows.column("key").to_pylist(), rows.column("target").to_pylist(), strict=True)
        )
        priorities = {key: self._priority(key) for key in seen}
        with self._lock:
            self.batches += 1
            self._priorities.append(np.fromiter(priorities.values(), dtype=np.uint64))
            for key, target in seen.items():
                if key not in self._kept:
                    self._kept[key] = (priorities[key], target)
            if len(self._kept) > 2 * self.size:
                self._trim()

    def _priority(self, key: str) -> int:
        digest = hashlib.blake2b(key.encode(), digest_size=8, salt=self._salt)
        return int.from_bytes(digest.digest(), "big")

    def _trim(self) -> None:
        lowest = sorted(self._kept.items(), key=lambda item: item[1][0])[: self.size]
        self._kept = dict(lowest)

    def sample(self) -> list[HitKey]:
        """The sampled keys, in priority order (a random order)."""
        with self._lock:
            self._trim()
            return [HitKey(key, target) for key, (_, target) in self._kept.items()]

    def distinct(self) -> int:
        """Distinct keys some tier answered."""
        import numpy as np

        with self._lock:
            if not self._priorities:
                return 0
            return len(np.unique(np.concatenate(self._priorities)))


@dataclass(frozen=True)
class Checked:
    """One key fetched both ways."""

    key: HitKey
    through: Version
    around: Version

    @property
    def usable(self) -> bool:
        return self.through.usable and self.around.usable

    @property
    def differs(self) -> tuple[str, ...]:
        return self.through.differs(self.around) if self.usable else ()


@dataclass(frozen=True)
class StaleReads:
    """Re-fetch the sampled hit keys through and around the cache (see the module docstring)."""

    sampler: HitSampler
    name: str = "stale_reads"

    def run(self, state: RunState) -> StepResult:
        config = state.config.stale_reads
        assert config is not None  # default_steps adds this step only with [stale_reads]
        if state.halt.is_set():
            return StepResult(summary="not run: the run was stopping")
        keys = self.sampler.sample()
        distinct = self.sampler.distinct()
        checked: list[Checked] = []
        if len(keys) >= config.min_keys:
            checked = asyncio.run(_check_all(state, config, keys))
        report = stale_report(config, distinct, checked)
        return StepResult(
            summary=_summary(report),
            metrics=stale_metrics(report),
            evidence={
                "hit_keys": distinct,
                "sampled": len(keys),
                "checked": report.checked,
                "stale": report.stale,
                "failed": report.failed,
                "reason": report.reason,
            },
            no_data={"stale_reads": report.reason} if report.reason else {},
            report={"stale_reads": report},
        )


async def _check_all(
    state: RunState, config: StaleReadsConfig, keys: Sequence[HitKey]
) -> list[Checked]:
    from warmer.replay.target import parse_target

    replay = state.config.replay
    target = parse_target(state.target, replay.unix_socket)
    base = f"{target.scheme}://{target.authority}"
    slots = asyncio.Semaphore(config.concurrency)
    through_headers = dict(replay.headers)
    around_headers = {**replay.headers, **config.bypass_headers}
    verify = not replay.insecure
    async with (
        client(replay.timeout_s, unix_socket=replay.unix_socket, verify=verify) as candidate,
        client(replay.timeout_s, verify=verify) as origin,
    ):

        async def one(key: HitKey) -> Checked:
            async with slots:
                through = await fetch(candidate, base + key.target, through_headers)
                if config.origin is not None:
                    path = key.target[len(target.prefix) :]
                    around = await fetch(origin, config.origin.rstrip("/") + path, {})
                else:
                    around = await fetch(candidate, base + key.target, around_headers)
                return Checked(key, through, around)

        return list(await asyncio.gather(*(one(key) for key in keys)))


def stale_report(
    config: StaleReadsConfig, distinct: int, checked: Sequence[Checked]
) -> StaleReadsReport:
    """The report section from the keys checked (none when there were too few hits)."""
    from warmer.model.run import StaleReads as StaleReadsReport

    usable = [c for c in checked if c.usable]
    stale = [c for c in usable if c.differs]
    reason = None
    if distinct < config.min_keys:
        reason = (
            f"only {distinct:,} distinct keys were cache hits during verify; the probe needs "
            f"at least {config.min_keys:,} ([stale_reads] min_keys)"
        )
    elif len(usable) < config.min_keys:
        reason = (
            f"only {len(usable):,} of {len(checked):,} keys answered 200 both ways; the probe "
            f"needs at least {config.min_keys:,} ([stale_reads] min_keys)"
        )
    return StaleReadsReport(
        around=_around(config),
        hit_keys=distinct,
        checked=len(usable),
        stale=len(stale),
        failed=len(checked) - len(usable),
        rate=None if reason else len(stale) / len(usable),
        reason=reason,
        examples=tuple(_example(c) for c in stale[: config.examples]),
    )


def _around(config: StaleReadsConfig) -> str:
    if config.origin is not None:
        return f"origin {mask_url(config.origin)}"
    shown = ("cache-control", "pragma")  # any other bypass header may carry a credential
    headers = (
        f"{name}: {value if name.lower() in shown else '***'}"
        for name, value in config.bypass_headers.items()
    )
    return "the candidate with " + ", ".join(headers)


def _example(checked: Checked) -> StaleKey:
    from warmer.model.run import StaleKey

    return StaleKey(
        key=printable(mask_url(checked.key.key)),
        through=printable(checked.through.describe()),
        around=printable(checked.around.describe()),
        differs=checked.differs,
    )


def stale_metrics(report: StaleReadsReport) -> Mapping[str, float | None]:
    """``stale_reads.rate`` (None without enough keys), ``.checked`` and ``.stale``."""
    return {
        "stale_reads.rate": report.rate,
        "stale_reads.checked": float(report.checked),
        "stale_reads.stale": float(report.stale),
    }


def _summary(report: StaleReadsReport) -> str:
    if report.rate is None:
        return f"no data: {report.reason}"
    return (
        f"{report.stale:,} of {report.checked:,} hit keys stale ({report.rate:.2%}), "
        f"around the cache via {report.around}"
    )
