"""Notice a target that stopped working while a replay runs, so the phase ends fast.

A dead or wedged candidate turns every request into a refusal, a reset, a timeout or a
5xx. Sending the rest of a sample into it proves nothing and, in a gate, makes the verify
phase judge a corpse. :class:`FailureWatch` reads every results batch the recorder writes
and trips on either rule:

* ``after`` requests in a row failed (``0`` turns the rule off);
* more than ``share`` of the last ``window`` requests failed (``share >= 1`` turns it off).

A request *failed* when it got no response (any error kind) or a 5xx status. Requests are
seen in completion order, which under concurrency is close to send order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class FailurePolicy:
    """When a replay gives up on its target (``[replay] fail_after/fail_share/fail_window``)."""

    after: int = 100
    """Consecutive failed requests that end the replay; 0 never ends it on a streak."""
    share: float = 0.5
    """Share of failed requests in the last ``window`` that ends the replay; 1 never does."""
    window: int = 1000
    """Requests the share is computed over (the rule waits until that many were seen)."""

    def __post_init__(self) -> None:
        if self.after < 0 or self.window < 1 or not 0.0 < self.share <= 1.0:
            raise ValueError("fail_after >= 0, fail_window >= 1 and 0 < fail_share <= 1")


@dataclass(frozen=True)
class Tripped:
    """Why a watch tripped: the rule, when (seconds after the clock origin) and what failed."""

    rule: str
    """``"streak"`` or ``"share"``."""
    failed: int
    """Failed requests the rule counted (the streak, or the failures in the window)."""
    seen: int
    """Requests the rule looked at (the streak again, or the window)."""
    at_s: float
    """``sent_s`` of the last request of the batch that tripped the watch."""
    kinds: dict[str, int] = field(default_factory=dict)
    """What the failures were, by error kind or ``5xx``, over the whole replay."""

    def describe(self) -> str:
        """``100 requests in a row failed (refused 98, 5xx 2)``."""
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in _by_count(self.kinds))
        what = (
            f"{self.failed:,} requests in a row failed"
            if self.rule == "streak"
            else f"{self.failed:,} of the last {self.seen:,} requests failed"
        )
        return f"{what} ({kinds})" if kinds else what


def _by_count(kinds: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))


class FailureWatch:
    """Feed it results batches; :attr:`tripped` is set once a rule of its policy fires."""

    def __init__(self, policy: FailurePolicy) -> None:
        self.policy = policy
        self.tripped: Tripped | None = None
        self._streak = 0
        self._recent = np.zeros(0, dtype=bool)
        self._kinds: Counter[str] = Counter()

    def add(self, batch: pa.RecordBatch) -> Tripped | None:
        """Count one batch; returns the trip (also kept in :attr:`tripped`) when it fires."""
        if self.tripped is not None or batch.num_rows == 0:
            return self.tripped
        failed = self._failed(batch)
        self._count_kinds(batch, failed)
        at = float(batch.column("sent_s")[-1].as_py() or 0.0)
        self.tripped = self._streak_rule(failed, at) or self._share_rule(failed, at)
        return self.tripped

    def _failed(self, batch: pa.RecordBatch) -> np.ndarray:
        import pyarrow.compute as pc

        no_response = pc.is_valid(batch.column("error"))
        server_error = pc.fill_null(pc.greater_equal(batch.column("status"), 500), False)
        mask = pc.or_(no_response, server_error)
        return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)

    def _count_kinds(self, batch: pa.RecordBatch, failed: np.ndarray) -> None:
        if not failed.any():
            return
        errors = batch.column("error").to_pylist()
        for index in np.flatnonzero(failed).tolist():
            self._kinds[errors[index] or "5xx"] += 1

    def _streak_rule(self, failed: np.ndarray, at: float) -> Tripped | None:
        after = self.policy.after
        if after == 0:
            return None
        longest, self._streak = _longest_run(failed, self._streak)
        if longest < after:
            return None
        return Tripped("streak", longest, longest, at, dict(self._kinds))

    def _share_rule(self, failed: np.ndarray, at: float) -> Tripped | None:
        window, share = self.policy.window, self.policy.share
        if share >= 1.0:
            return None
        self._recent = np.concatenate([self._recent, failed])[-window:]
        if self._recent.size < window:
            return None
        count = int(self._recent.sum())
        if count <= share * window:
            return None
        return Tripped("share", count, window, at, dict(self._kinds))


def _longest_run(failed: np.ndarray, carried: int) -> tuple[int, int]:
    """(longest run of failures including the ``carried`` streak, the streak at the end)."""
    ok = np.flatnonzero(~failed)
    if ok.size == 0:
        run = carried + failed.size
        return run, run
    first = carried + int(ok[0])
    gaps = np.diff(ok) - 1 if ok.size > 1 else np.zeros(0, dtype=np.int64)
    inner = int(gaps.max()) if gaps.size else 0
    trailing = int(failed.size - ok[-1] - 1)
    return max(first, inner, trailing), trailing
