"""Stage 2 — replay: send a sample to a target with chosen pacing and order, record responses.

Public API::

    from warmer.replay import ReplayPlan, ResultsWriter, replay, check_target, open_results

    check_target(plan.target)                      # exit-3 error when nothing listens
    with ResultsWriter("results.parquet") as out:
        summary = replay(records, plan, out, phase="warm", on_event=print, stop=event)
"""

from warmer.replay.results import ResultsFile, ResultsWriter, open_results
from warmer.replay.run import (
    ENGINES,
    ReplayEvent,
    ReplayFinished,
    ReplayPlan,
    ReplayProgress,
    ReplayStarted,
    ReplaySummary,
    check_target,
    replay,
)

__all__ = [
    "ENGINES",
    "ReplayEvent",
    "ReplayFinished",
    "ReplayPlan",
    "ReplayProgress",
    "ReplayStarted",
    "ReplaySummary",
    "ResultsFile",
    "ResultsWriter",
    "check_target",
    "open_results",
    "replay",
]
