"""Everything a gate run does before it sends anything: checks, sample split, plan, ceilings.

:func:`prepare` is what ``warmer gate --dry-run`` stops after. A bad check, a bad replay
option, a protected target or an unusable sample is an error here (exit 2), before any
request; a run (:func:`warmer.gate.run.run_gate`) starts from the :class:`Prepared` it
returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from warmer.checks.grammar import Check, NoData, parse_checks
from warmer.config.schema import Config
from warmer.errors import UsageError
from warmer.gate.plan import SplitSample, make_plan, split_sample
from warmer.gate.warmplan import WarmPlan, plan_warm
from warmer.model.run import Ceilings, Plan, SampleSummary

if TYPE_CHECKING:
    from warmer.model.sample import SampleMeta
    from warmer.replay.run import ReplayPlan
    from warmer.sample.source import SampleSource


@dataclass(frozen=True)
class GateOptions:
    """Everything a gate run needs, already merged from flags, env and file."""

    config: Config
    sample: Path
    target: str
    checks: tuple[str, ...] = ()
    """Every check to judge: the file's, then ``--check`` ones."""
    run_dir: Path | None = None
    """Exact directory to write; default ``gate.run_dir / <run id>``."""
    formats: tuple[str, ...] = ("json", "md", "html", "junit")
    no_data: NoData = "fail"
    warm_until: tuple[str, ...] = ()
    """Conditions that end warming early: the file's ``gate.warm_until``, then ``--warm-until``."""


@dataclass(frozen=True)
class Prepared:
    """A run ready to send: checks parsed, sample split, plan known.

    The ceilings and the sample summary come from profiling the sample
    (:meth:`with_profile`); a run does that during its settle pause, when the machine
    would otherwise wait, and ``--dry-run`` does it in :func:`prepare`.
    """

    options: GateOptions
    checks: tuple[Check, ...]
    split: SplitSample
    plan: Plan
    source: SampleSource = field(repr=False)
    """The whole sample, read again for profiling."""
    meta: SampleMeta = field(repr=False)
    ceilings: Ceilings | None = None
    sample: SampleSummary | None = None
    warm_plan: WarmPlan | None = field(default=None, repr=False)
    """What the warm phase sends (hot-first: which keys, in which order)."""
    warm_until: tuple[Check, ...] = ()

    @property
    def profiled(self) -> bool:
        return self.ceilings is not None

    def with_profile(self) -> Prepared:
        """This run with ceilings and sample summary computed (itself when already done)."""
        if self.profiled:
            return self
        from warmer.sample.inspect import profile_sample

        profile = profile_sample(self.source, warm_fraction=self.split.warm_fraction)
        ceilings = Ceilings(
            infinite_cache=profile.infinite_cache_ceiling,
            warmable=profile.split.warmable_ceiling if profile.split else None,
            unique_keys=profile.unique_keys,
        )
        ceilings = mrc_ceilings(ceilings, self.source)
        sample = SampleSummary(
            path=str(self.options.sample),
            requests=profile.requests,
            unique_keys=profile.unique_keys,
            span_s=profile.span_s,
            sample_rate=self.meta.sample_rate,
            created=self.meta.created,
            formats=tuple(str(s.get("format", "")) for s in self.meta.sources),
        )
        return dataclasses.replace(self, ceilings=ceilings, sample=sample)


def mrc_ceilings(ceilings: Ceilings, source: SampleSource) -> Ceilings:
    """``ceilings`` with the sample's miss-ratio curves (exact, or SHARDS when large)."""
    from warmer.model.run import MrcBytesPoint
    from warmer.sample.mrc import miss_ratio_curves

    curves = miss_ratio_curves(source)
    by_bytes = curves.bytes.points() if curves.bytes is not None else []
    return dataclasses.replace(
        ceilings,
        miss_ratio_curve=curves.report_points(),
        miss_ratio_curve_bytes=tuple(MrcBytesPoint(s, m) for s, m in by_bytes),
        mrc_method=curves.method,
        mrc_sampling_rate=curves.sampling_rate,
    )


def prepare(options: GateOptions, *, profile: bool = True) -> Prepared:
    """Parse checks, load and split the sample, plan; sends nothing (this is ``--dry-run``).

    ``profile=False`` leaves the ceilings for the run to compute during its settle pause.
    """
    from warmer.sample.source import SampleSource

    config = options.config
    checks = parse_checks(options.checks, tuple(config.tiers))
    checks = (*checks, *skip_checks(checks, config.gate.max_skip_rate))
    until = parse_checks(options.warm_until, tuple(config.tiers), where="--warm-until")
    _check_warming(until, config)
    _check_replay_options(config)
    _check_probes(checks, config)
    if options.target:
        # Protected hosts, bad URLs and bad replay options are refused before anything is
        # sent (exit 2).
        replay_plan(config, options.target, order=config.replay.order).validate()
    if config.gate.baseline:
        # The baseline is read with the same rules: a protected one is refused now.
        replay_plan(config, config.gate.baseline, order="recorded").parsed_target()
    source = SampleSource.open(options.sample)
    fraction = config.gate.warm_fraction or config.sample.warm_fraction
    split = split_sample(
        source, warm_fraction=fraction, warm_duration_s=config.gate.warm_duration_s
    )
    warm = plan_warm(
        split.warm,
        order=config.replay.order,
        checks=checks,
        tiers=config.tiers,
        allow_methods=config.safety.allow_methods,
        margin=config.gate.warm_margin,
    )
    verify = plan_warm(split.verify, order="recorded", allow_methods=config.safety.allow_methods)
    texts = tuple(c.text for c in until)
    prepared = Prepared(
        options=options,
        checks=checks,
        split=split,
        plan=make_plan(split, config.gate, config.replay, warm, verify.requests, texts),
        source=source,
        meta=source.meta,
        warm_plan=warm,
        warm_until=until,
    )
    return prepared.with_profile() if profile else prepared


def skip_checks(checks: Sequence[Check], max_rate: float) -> tuple[Check, ...]:
    """The built-in ``[warm.]skipped.rate <= max_rate`` checks the user did not write.

    A phase that skipped most of its records proves nothing about the caches, so a gate
    never passes one quietly; a check of the user's own on the metric replaces it.
    """
    if max_rate >= 1.0:
        return ()
    named = {check.metric for check in checks}
    texts = [
        f"{metric} <= {max_rate * 100:g}%"
        for metric in ("warm.skipped.rate", "skipped.rate")
        if metric not in named
    ]
    return parse_checks(texts, where="gate.max_skip_rate")


def _check_warming(until: Sequence[Check], config: Config) -> None:
    """``--warm-until`` reads hit-rate floors only; ``replay.protect`` needs a rate to adjust
    and, for ``backend.rps``, a backend source."""
    for check in until:
        if not (check.metric.startswith("hit_rate.") and check.op in (">", ">=")):
            raise UsageError(
                f"--warm-until {check.text!r}: only hit_rate.<tier> or hit_rate.effective "
                "with >= or > can end warming",
                "e.g. --warm-until 'hit_rate.l0 >= 0.9'",
            )
    if config.replay.protect and config.replay.pacing == "recorded":
        raise UsageError(
            "replay.protect paces the warm phase at a rate it adjusts: recorded timing has none",
            "use --pacing max (the controller finds the rate) or --pacing rate (a ceiling)",
        )
    if any(c.startswith("backend.") for c in config.replay.protect) and config.backend is None:
        raise UsageError(
            "replay.protect names backend.rps but no [backend] source is configured",
            "add a [backend] table (e.g. the origin's request counter) or drop the limit",
        )


_PROBES = {
    "stale_reads": "add a [stale_reads] table (docs/stale-reads.md)",
    "invalidation": "add an [invalidation] table (docs/stale-reads.md)",
    "compare": "pass --baseline URL or set [gate] baseline (docs/compare.md)",
}
"""Metric root of a probe step → how to turn the probe on."""


def _check_probes(checks: Sequence[Check], config: Config) -> None:
    """A check of a probe that will not run is a usage error now, not no data later."""
    present = {
        "stale_reads": config.stale_reads is not None,
        "invalidation": config.invalidation is not None,
        "compare": config.gate.baseline is not None,
    }
    for check in checks:
        root = check.metric.split(".")[0]
        if root in present and not present[root]:
            raise UsageError(
                f"check {check.text!r} reads a probe that is not configured", _PROBES[root]
            )


def _check_replay_options(config: Config) -> None:
    replay = config.replay
    if replay.order == "hot-first" and replay.pacing == "recorded":
        raise UsageError(
            "--order hot-first has no recorded timing to follow",
            "use --pacing rate or --pacing max with hot-first",
        )
    if replay.pacing == "rate" and not replay.rate:
        raise UsageError("--pacing rate needs --rate", "e.g. --pacing rate --rate 2000")


def replay_plan(config: Config, target: str, *, order: str) -> ReplayPlan:
    """The replay stage's plan for one phase, from the effective config."""
    from warmer.observe.build import extra_headers
    from warmer.replay.locust_engine import LocustOptions
    from warmer.replay.run import ReplayPlan

    replay = config.replay
    return ReplayPlan(
        target=target,
        unix_socket=replay.unix_socket,
        engine=replay.engine,
        pacing=replay.pacing,
        speed=replay.speed,
        max_gap_s=replay.max_gap_s,
        rate=replay.rate,
        order=order,
        concurrency=replay.concurrency,
        timeout_s=replay.timeout_s,
        allow_methods=config.safety.allow_methods,
        headers=tuple(f"{k}: {v}" for k, v in replay.headers.items()),
        drop_headers=replay.drop_headers,
        preserve_host=replay.preserve_host,
        protected_hosts=config.safety.protected_hosts,
        verify_tls=not replay.insecure,
        ca_file=replay.ca_cert,
        fail_after=replay.fail_after,
        fail_share=replay.fail_share,
        fail_window=replay.fail_window,
        capture_headers=extra_headers(config),
        locust=LocustOptions.from_config(replay),
    )
