"""Stage 2 — replay: send a sample to a target with chosen pacing and order, record responses.

Public API::

    from warmer.replay import ReplayPlan, ResultsWriter, check_target, replay, stream_records
    from warmer.sample.store import open_sample

    plan = ReplayPlan(target="http://127.0.0.1:8080", pacing="rate", rate=2000)
    check_target(plan.target)                      # exit-3 error when nothing listens
    records = stream_records(open_sample("sample.parquet"))   # or any SampleRecord iterable
    with ResultsWriter("results.parquet") as out:  # one file may hold several phases
        warm = replay(records, plan, out, phase="warm", on_event=print, stop=event)
"""

from warmer.replay.engine import Engine, EngineSettings, Job, Sink
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
from warmer.replay.shards import merge_summaries
from warmer.replay.source import stream_records

__all__ = [
    "ENGINES",
    "Engine",
    "EngineSettings",
    "Job",
    "ReplayEvent",
    "ReplayFinished",
    "ReplayPlan",
    "ReplayProgress",
    "ReplayStarted",
    "ReplaySummary",
    "ResultsFile",
    "ResultsWriter",
    "Sink",
    "check_target",
    "merge_summaries",
    "open_results",
    "replay",
    "stream_records",
]
