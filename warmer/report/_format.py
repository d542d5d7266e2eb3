"""Human formatting of metric values shared by the text reports.

No escaping happens here: a line that holds untrusted text takes the report's own
:class:`Markup`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from warmer.model.run import CheckResult, PhaseReport, RunReport, StepReport

_RATIO_SUFFIXES = ("hit_rate", "offload", "errors.rate", "skipped.rate", "stale_reads.rate")
_DELTA_SUFFIXES = (".delta", ".delta_low", ".delta_high", ".cliffs_delta")

OUTCOME_LABEL = {
    "pass": "PASS",
    "fail": "FAIL",
    "no_data": "NO DATA",
    "error": "ERROR",
    "not_evaluated": "NOT EVALUATED",
}
STEP_LABEL = {"ok": "ok", "error": "ERROR", "interrupted": "interrupted", "not_run": "not run"}
VERDICT_LABEL = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "interrupted": "INTERRUPTED"}


def metric_kind(metric: str) -> str:
    """How a metric's values read: ``ratio``, ``delta``, ``ms``, ``s``, ``bytes``, ``rps`` or
    ``count``."""
    base = metric.removeprefix("warm.")
    if base.startswith("compare.") and base.endswith(_DELTA_SUFFIXES):
        return "delta"
    if base.startswith(("hit_rate.", "predicted.hit_rate.")) or base.endswith(_RATIO_SUFFIXES):
        return "ratio"
    if base.endswith("no_expiry_rate"):
        return "ratio"
    if base.endswith("visible_after_s"):
        return "s"
    if base.endswith("_ms"):
        return "ms"
    if base.startswith(("seconds_to_target", "seconds_to_warm")) or base.endswith("_s"):
        return "s"
    if base.endswith(("memory_bytes", "memory_per_key_bytes", ".maxmemory", ".item_size_max")):
        return "bytes"
    if base.startswith("backend.rps"):
        return "rps"
    return "count"


def fmt_value(metric: str, value: float | str | bool | None) -> str:
    """``value`` of ``metric`` for people: ``87.3 %``, ``12.4 ms``, ``1.2 MB``, ``12,400``;
    strings quoted, booleans ``true``/``false``."""
    if value is None:
        return "no data"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    kind = metric_kind(metric)
    if kind == "ratio":
        return fmt_pct(value)
    if kind == "delta":
        return f"{value:+.4f}"
    if kind == "ms":
        return f"{fmt_num(value)} ms"
    if kind == "s":
        return f"{fmt_num(value)} s"
    if kind == "bytes":
        return fmt_bytes(value)
    if kind == "rps":
        return f"{fmt_num(value)} req/s"
    return fmt_num(value)


def fmt_threshold(check: CheckResult) -> str:
    """The comparison a check makes, e.g. ``>= 85.0 %``."""
    return f"{check.operator} {fmt_value(check.metric, check.threshold)}"


OPERATORS = frozenset(("<", "<=", ">", ">=", "==", "!="))
"""Operators of the check language; any other value in a report is treated as untrusted."""


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage, ``0.873`` → ``87.3 %``."""
    return "no data" if value is None else f"{value * 100:.{digits}f} %"


def fmt_num(value: float | None) -> str:
    """Integers with thousands separators, other numbers with up to 3 significant decimals."""
    if value is None:
        return "–"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def fmt_bytes(value: float | None) -> str:
    """Bytes in B, kB, MB or GB (decimal units, as the check language's ``MB``)."""
    if value is None:
        return "–"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{int(value)} B"


def fmt_seconds(value: float | None) -> str:
    """A duration: ``850 ms``, ``12.3 s``, ``4 min 05 s``."""
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"


def summary_line(run: RunReport) -> str:
    """One sentence after the verdict: how many checks passed, or what stopped the run."""
    total = len(run.checks)
    passed = sum(1 for c in run.checks if passes(c))
    if run.verdict in ("error", "interrupted") and run.error:
        return run.error
    if total == 0:
        return "no checks were configured"
    if passed == total:
        return f"all {total} checks passed"
    return f"{total - passed} of {total} checks did not pass"


def passes(check: CheckResult) -> bool:
    """Whether the check counts as passed (``no_data`` passes only when the check allows it)."""
    return check.outcome == "pass" or (check.outcome == "no_data" and check.allow_no_data)


def status_summary(classes: dict[str, int]) -> str:
    """``2xx 9,800 · 4xx 12`` (classes with zero responses left out)."""
    parts = [f"{k} {v:,}" for k, v in sorted(classes.items()) if v]
    return " · ".join(parts) or "–"


def skipped_summary(skipped: dict[str, int]) -> str:
    """``method 12 · invalid 3`` or ``none``: sample records a phase did not send."""
    return errors_summary(skipped)


def step_line(step: StepReport) -> str:
    """``warm (3.2s): 9,901 requests sent`` for a step list."""
    took = f" ({step.duration_s:.1f}s)" if step.duration_s is not None else ""
    what = step.error if step.status in ("error", "not_run") else step.summary
    return f"{step.name}{took}: {STEP_LABEL.get(step.status, step.status)}" + (
        f", {what}" if what else ""
    )


def errors_summary(errors: dict[str, int]) -> str:
    """``timeout 3 · refused 1`` or ``none``."""
    parts = [f"{k} {v:,}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1]) if v]
    return " · ".join(parts) or "none"


class Markup(NamedTuple):
    """How one text report marks a label and makes untrusted text inert."""

    bold: Callable[[str], str]
    text: Callable[[str], str]


def effective_line(run: RunReport, phase: PhaseReport, markup: Markup) -> str:
    """The phase's effective hit rate and the run's ceilings, ``·``-separated."""
    parts = [f"{markup.bold('Effective hit rate:')} {fmt_pct(phase.effective_hit_rate)}"]
    if run.ceilings.warmable is not None:
        # Says what it counts: verify also hits on keys first cached during verify, so the
        # effective rate may pass this ceiling without anything being wrong.
        parts.append(
            f"warmable ceiling {fmt_pct(run.ceilings.warmable)} (verify requests for keys"
            " the warm part requested)"
        )
    if run.ceilings.infinite_cache is not None:
        parts.append(
            f"infinite-cache ceiling {fmt_pct(run.ceilings.infinite_cache)} (whole sample)"
        )
    return " · ".join(parts)


def backend_line(phase: PhaseReport, markup: Markup) -> str:
    """Backend requests, rates and offload of the phase, and a disagreement if one was found."""
    b, bold, text = phase.backend, markup.bold, markup.text
    if b.missing_data or (b.requests is None and b.offload is None):
        return f"{bold('Backend:')} no data" + (f" ({text(b.source)})" if b.source else "")
    line = (
        f"{bold('Backend:')} {fmt_num(b.requests)} requests · "
        f"{text(fmt_value('backend.rps_mean', b.rps_mean))} mean · "
        f"{text(fmt_value('backend.rps_peak', b.rps_peak))} peak · "
        f"offload {fmt_pct(b.offload)}"
    )
    if b.consistent is False:
        line += f" · {bold('inconsistent:')} {text(b.consistency_message or 'counts disagree')}"
    return line


def forecast_cells(run: RunReport, tier: str) -> tuple[str, str]:
    """(predicted hit rate, modelled size) of ``tier`` for the tiers tables ("–": none)."""
    forecast = run.predictions.tier(tier) if run.predictions is not None else None
    if forecast is None:
        return "–", "–"
    rate = fmt_pct(forecast.hit_rate) if forecast.hit_rate is not None else "–"
    size = "unknown"
    if forecast.capacity_keys is not None:
        size = f"{fmt_num(forecast.capacity_keys)} keys"
    elif forecast.capacity_bytes is not None:
        size = fmt_bytes(forecast.capacity_bytes)
    elif forecast.capacity_source is not None:
        size = "unbounded"
    if forecast.ttl_s is not None:
        size += f", ttl {fmt_num(forecast.ttl_s)} s"
    return rate, size


def warming_lines(run: RunReport) -> list[str]:
    """The warm plan, why warming stopped and what the pace controller did, in plain lines."""
    plan, control = run.plan, run.warming
    lines = []
    if plan.warm_plan and plan.order == "hot-first":
        lines.append(f"Warm plan: {plan.warm_plan}")
    if control is not None and control.stopped_early:
        lines.append(f"Stopped early: {control.stopped_early}")
    elif plan.warm_until:
        lines.append("Warm until " + ", ".join(plan.warm_until) + ": never held, the plan ran out")
    if control is not None and control.protect:
        peak = control.peak_backend_rps
        seen = f", backend peak {fmt_num(peak)} req/s" if peak is not None else ""
        lines.append(
            "Backend protection (" + ", ".join(control.protect) + f"): {control.decisions} "
            f"pace decisions, {control.decreases} cuts{seen}"
        )
    return lines


TIER_CONFIG_ORDER = (
    "config.version",
    "config.mode",
    "config.cluster_enabled",
    "config.maxmemory",
    "config.maxmemory_policy",
    "config.maxmemory_samples",
    "config.lfu_log_factor",
    "config.lfu_decay_time",
    "config.io_threads",
    "config.item_size_max",
    "config.evictions",
    "config.threads",
    "ttl.p50_s",
    "ttl.p90_s",
    "ttl.no_expiry_rate",
    "memory_per_key_bytes",
)
"""Rows of the tier-configuration table, in reading order; others follow."""


def tier_config_table(run: RunReport) -> tuple[list[str], list[list[str]]]:
    """The tier-configuration table as plain text: one row per setting, one column per tier.

    A value the server would not tell reads ``no data: <reason>``; a setting an engine
    does not have reads ``–``.
    """
    tiers = run.tier_config
    header = ["Setting", *(f"{t.tier} ({t.engine})" for t in tiers)]
    names = [n for n in TIER_CONFIG_ORDER if any(n in t.values for t in tiers)]
    names += sorted({n for t in tiers for n in t.values} - set(names))
    rows = [[name, *(_tier_cell(t.values, t.no_data, name) for t in tiers)] for name in names]
    rows.append(["sampled keys", *(f"{t.sampled_keys:,}" for t in tiers)])
    return header, rows


def _tier_cell(
    values: dict[str, float | str | bool | None], no_data: dict[str, str], name: str
) -> str:
    if name not in values:
        return "–"
    value = values[name]
    if value is not None:
        return fmt_value(name, value) if not isinstance(value, str) else value
    setting = name.removeprefix("config.")
    reason = (
        no_data.get(setting)
        or no_data.get(name.split(".")[0])
        or no_data.get("memory_per_key" if name == "memory_per_key_bytes" else "")
    )
    return f"no data: {reason}" if reason else "no data"


DRIFT_LABEL = {"ok": "ok", "drift": "DRIFT", "no_data": "no data", "info": "–"}


def drift_table(run: RunReport) -> tuple[list[str], list[list[str]]]:
    """The drift table as plain text: tier, aspect, baseline, candidate, status, detail."""
    header = ["Tier", "Aspect", "Baseline", "Candidate", "Status", "Detail"]
    rows = [
        [r.tier, r.aspect, r.baseline, r.candidate, DRIFT_LABEL.get(r.status, r.status), r.detail]
        for r in (run.drift.rows if run.drift else ())
    ]
    return header, rows
