"""Shared data model: what flows between stages (samples, results, runs)."""

from warmer.model.results import ERROR_KINDS, RESULTS_ARROW_SCHEMA, RESULTS_SCHEMA_VERSION
from warmer.model.sample import (
    SAMPLE_ARROW_SCHEMA,
    SAMPLE_SCHEMA_VERSION,
    SampleMeta,
    SampleRecord,
)

__all__ = [
    "ERROR_KINDS",
    "RESULTS_ARROW_SCHEMA",
    "RESULTS_SCHEMA_VERSION",
    "SAMPLE_ARROW_SCHEMA",
    "SAMPLE_SCHEMA_VERSION",
    "SampleMeta",
    "SampleRecord",
]
