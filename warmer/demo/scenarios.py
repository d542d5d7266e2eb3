"""The four ``warmer demo`` scenarios: candidate settings and Redis tiers for each, and a stack.

Every scenario runs the same infrastructure — an L1 sidecar Redis on a Unix socket (its
``maxmemory`` holds about 5 000 demo responses, so it evicts, as a sidecar would) and an
L2 Redis over TCP — and differs only in how the candidate is configured:

==============  ====================================================  =======================
scenario        candidate                                             expected gate outcome
==============  ====================================================  =======================
healthy         L0 2 000 entries (the hot set), TTLs 1 h, L1 + L2     pass
undersized-l0   L0 150 entries, far below the hot set                 fail: ``hit_rate.l0``;
                                                                      L0 evicts thousands
short-ttl       every TTL 1 s — shorter than the gate's 2 s settle,   fail: ``hit_rate.l0``,
                so nothing warmed survives into verify                ``hit_rate.l2``,
                                                                      ``hit_rate.effective``,
                                                                      ``backend.offload``,
                                                                      ``l2.keys``; all TTL
no-l2           not connected to L2 (a config regression; the L2      fail: ``l2.keys`` = 0;
                Redis still runs and the gate still watches it)      no data for
                                                                      ``hit_rate.l2`` and
                                                                      ``hit_rate.effective``
==============  ====================================================  =======================

Measured with ``warmer gate`` and the bundled sample (verify phase; docs/candidate.md):
healthy L0 0.69, effective 0.84, offload 0.75; undersized-l0 L0 0.39 with ~2 000 L0
evictions; short-ttl L0 0.44, effective 0.44, offload 0.40 with ~1 100 L0 expirations;
no-l2 L2 0 keys and no lookups.

Why short-ttl fails ``l2.keys >= 5000`` every time: with a 1 s TTL, L2 holds at the end
of verify only what verify stored in its last second (plus a few expired keys Redis has
not purged yet), so at most the verify part's 1 959 distinct cacheable keys — 328 to
1 344 were seen, depending on replay speed. The other scenarios keep all 10 405. A
threshold between the two (the old 1 000 sat inside the short-ttl range) makes the
outcome depend on the sample, not on timing; the diagnosis reads L2's expirations.

The bundled ``warmer.toml`` (``bundled_config()``) reads L0 from ``Cache-Status``, L1 and
L2 from Redis ``INFO`` and the backend from the candidate's ``/metrics``; its ``${...}``
placeholders are filled from :meth:`DemoStack.env`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.services import RedisServer
from warmer.errors import ExitCode, UsageError

L1_MAXMEMORY = "18mb"
"""The sidecar's bound: about 5 000 demo responses (3.2 kB each on average) plus overhead."""
HOUR_S = 3600.0

_BASE = CandidateSettings(
    l0_capacity=2_000,
    l0_ttl_s=HOUR_S,
    l1_ttl_s=HOUR_S,
    l2_ttl_s=HOUR_S,
    backend_latency_ms=15.0,
    backend_jitter_ms=5.0,
    backend_concurrency=32,
)


@dataclass(frozen=True)
class ScenarioSpec:
    """One named demo scenario and what the gate should say about it."""

    name: str
    description: str
    candidate: CandidateSettings
    """Candidate settings without Redis URLs (the stack fills them in)."""
    use_l2: bool = True
    """Whether the candidate is connected to the L2 Redis (which runs either way)."""
    l1_maxmemory: str = L1_MAXMEMORY
    expected_exit: ExitCode = ExitCode.OK
    failing_checks: tuple[str, ...] = ()
    """Metrics whose checks in the bundled config should fail (the diagnosis to show)."""

    def start(self, workdir: Path | None = None) -> DemoStack:
        """Start L1, L2 and the candidate for this scenario (stop them with ``with`` or stop())."""
        return DemoStack(self, workdir).start()


SCENARIOS: dict[str, ScenarioSpec] = {
    spec.name: spec
    for spec in (
        ScenarioSpec(
            "healthy",
            "L0 holds the hot set, TTLs outlast the run, L1 and L2 connected",
            _BASE,
        ),
        ScenarioSpec(
            "undersized-l0",
            "L0 holds 150 entries, far below the ~2 000-key hot set: it evicts constantly",
            _BASE.replace(l0_capacity=150),
            expected_exit=ExitCode.CHECK_FAILED,
            failing_checks=("hit_rate.l0",),
        ),
        ScenarioSpec(
            "short-ttl",
            "every tier's TTL is 1 s, shorter than the 2 s settle: warmed entries expire",
            _BASE.replace(l0_ttl_s=1.0, l1_ttl_s=1.0, l2_ttl_s=1.0),
            expected_exit=ExitCode.CHECK_FAILED,
            failing_checks=(
                "hit_rate.l0",
                "hit_rate.l2",
                "hit_rate.effective",
                "backend.offload",
                "l2.keys",
            ),
        ),
        ScenarioSpec(
            "no-l2",
            "the candidate is deployed without its L2 connection; L1 misses reach the backend",
            _BASE,
            use_l2=False,
            expected_exit=ExitCode.CHECK_FAILED,
            failing_checks=("hit_rate.l2", "l2.keys", "hit_rate.effective"),
        ),
    )
}
"""Every scenario by name, ``healthy`` first."""


def scenario(name: str) -> ScenarioSpec:
    """The scenario called ``name``; UsageError naming the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UsageError(
            f"unknown demo scenario {name!r}", hint=f"choose one of: {', '.join(SCENARIOS)}"
        ) from None


def bundled_config() -> Path:
    """The demo's ``warmer.toml`` (placeholders ``${WARMER_DEMO_*}``, see DemoStack.env)."""
    return Path(__file__).parent / "data" / "warmer.toml"


def bundled_sample() -> Path | None:
    """The bundled demo sample when running from a source checkout, else None."""
    path = Path(__file__).resolve().parents[2] / "traffic_samples" / "demo.jsonl.gz"
    return path if path.is_file() else None


class DemoStack:
    """L1 Redis (Unix socket), L2 Redis (TCP) and the candidate, started and stopped together."""

    def __init__(self, spec: ScenarioSpec, workdir: Path | None = None) -> None:
        self.spec = spec
        self.l1 = RedisServer(
            unix_socket=True, maxmemory=spec.l1_maxmemory, workdir=_sub(workdir, "l1")
        )
        self.l2 = RedisServer(workdir=_sub(workdir, "l2"))
        self.candidate: CandidateServer | None = None
        self._candidate_workdir = _sub(workdir, "candidate")

    def start(self) -> Self:
        """Start everything; on any failure stop what already runs and re-raise."""
        try:
            self.l1.start()
            self.l2.start()
            settings = self.spec.candidate.replace(
                l1_url=self.l1.url, l2_url=self.l2.url if self.spec.use_l2 else None
            )
            self.candidate = CandidateServer(settings, workdir=self._candidate_workdir).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the candidate, then the Redis servers (safe to call twice)."""
        if self.candidate is not None:
            self.candidate.stop()
        self.l2.stop()
        self.l1.stop()

    @property
    def target(self) -> str:
        """The candidate's base URL."""
        if self.candidate is None:
            raise RuntimeError("the demo stack is not started")
        return self.candidate.url

    def env(self) -> dict[str, str]:
        """Values for the bundled config's placeholders (the sample only when bundled)."""
        candidate = self.spec.candidate
        values = {
            "WARMER_DEMO_TARGET": self.target,
            "WARMER_DEMO_METRICS_URL": f"{self.target}/metrics",
            "WARMER_DEMO_L1_URL": self.l1.url,
            "WARMER_DEMO_L2_URL": self.l2.url,
            # What only the candidate knows of its tiers (for the simulation and diagnosis).
            "WARMER_DEMO_L0_CAPACITY": str(candidate.l0_capacity),
            "WARMER_DEMO_L0_TTL": f"{candidate.l0_ttl_s:g}",
            "WARMER_DEMO_L1_TTL": f"{candidate.l1_ttl_s:g}",
            "WARMER_DEMO_L2_TTL": f"{candidate.l2_ttl_s:g}",
        }
        sample = bundled_sample()
        if sample is not None:
            values["WARMER_DEMO_SAMPLE"] = str(sample)
        return values

    def __enter__(self) -> Self:
        return self if self.candidate is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _sub(workdir: Path | None, name: str) -> Path | None:
    if workdir is None:
        return None
    path = workdir / name
    path.mkdir(parents=True, exist_ok=True)
    return path
