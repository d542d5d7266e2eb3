"""Backend protection: an AIMD controller pacing the warm phase by ``[replay] protect`` limits.

A warmer that hammers the backend to prevent a storm causes one. Every
``replay.protect_interval_s`` the controller reads each limit's live metric — the backend's
request rate between the latest two readings of the ``[backend]`` source
(``backend.rps``), and the target's failures and latency over the last half second of
responses (``errors.rate``, ``latency.p*_ms``, from :class:`~warmer.gate.live.LiveWindow`)
— and sets the pacer's rate from the worst ratio ``u = value / limit``:

=================  ==========================================================
``u > 1``          multiplicative decrease: rate × ``min(BETA, 0.9 / u)`` (at
                   most once per fresh reading, so one slow reading is not
                   punished twice)
``0.9 < u <= 1``   hold: close to the limit
``0.5 <= u <= 0.9`` additive increase: + ``ALPHA`` × rate
``u < 0.5``        slow start: rate × 1.5
=================  ==========================================================

The rate the controller works from is the lower of the one it chose and the one the
replay achieved (a target that cannot keep up with the chosen rate gives no reason to
raise it, and a cut must bite at once). A limit whose metric has no reading yet does not
count. The rate never exceeds the configured ``rate`` (pacing ``rate``) and never falls
below 1 request/s. Every decision is kept as a :class:`~warmer.model.run.RatePoint`, which
the report draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from warmer.checks.grammar import Check
from warmer.model.run import RatePoint
from warmer.replay.pacing import AdaptivePacer

BETA = 0.7
ALPHA = 0.03
SLOW_START = 1.5
HEADROOM = 0.9
FAR = 0.5


@dataclass(frozen=True)
class Reading:
    """A metric's value and when it was taken (seconds on the controller's clock)."""

    value: float
    at: float


Reader = Callable[[str], Reading | None]
"""Returns the newest reading of a protect metric (``backend.rps`` ...), None without one."""


@dataclass
class Protector:
    """Adjusts ``pacer.rate`` from the readings of ``limits`` (see the module docstring)."""

    limits: Sequence[Check]
    pacer: AdaptivePacer
    read: Reader
    achieved: Callable[[], float | None] = lambda: None
    """The replay's own send rate lately (None while unknown)."""
    interval_s: float = 0.5
    rates: list[RatePoint] = field(default_factory=list)
    decreases: int = 0
    peak: dict[str, float] = field(default_factory=dict)
    """Highest value read per metric."""
    _last_decision: float | None = None
    _last_cut: float = -1.0

    def update(self, now: float) -> None:
        """Decide once per interval (call it often; ``now`` on the readings' clock)."""
        if self._last_decision is not None and now - self._last_decision < self.interval_s:
            return
        self._last_decision = now
        worst, fresh = self._worst()
        chosen = self.pacer.rate
        achieved = self.achieved()
        rate = chosen if achieved is None else min(chosen, max(achieved, 1.0))
        behind = achieved is not None and achieved < HEADROOM * chosen
        if worst is None:
            rate = chosen
        elif worst > 1.0:
            if fresh > self._last_cut:  # one cut per new reading
                rate *= min(BETA, HEADROOM / worst)
                self.decreases += 1
                self._last_cut = now
            else:
                rate = chosen
        elif behind:
            rate = chosen  # the target does not keep up: no reason to go faster
        elif worst < FAR:
            rate *= SLOW_START
        elif worst <= HEADROOM:
            rate += ALPHA * rate
        else:
            rate = chosen
        self.pacer.rate = rate
        self.rates.append(RatePoint(round(now, 3), round(self.pacer.rate, 2)))

    def _worst(self) -> tuple[float | None, float]:
        """The highest value/limit ratio and the time of the newest reading behind it."""
        worst: float | None = None
        fresh = -1.0
        for limit in self.limits:
            reading = self.read(limit.metric)
            if reading is None:
                continue
            self.peak[limit.metric] = max(self.peak.get(limit.metric, 0.0), reading.value)
            ratio = _ratio(limit, reading.value)
            if worst is None or ratio > worst:
                worst, fresh = ratio, reading.at
        return worst, fresh


def _ratio(limit: Check, value: float) -> float:
    """value / threshold; a broken strict limit (``<``) reads just above 1."""
    if limit.limit <= 0:
        return 0.0 if value < limit.limit or (value == 0 and limit.op == "<=") else 2.0
    ratio = value / limit.limit
    if limit.op == "<" and ratio >= 1.0:
        return max(ratio, 1.0 + 1e-9)
    return ratio
