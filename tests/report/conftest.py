"""Fixtures of the report tests: the fixed hand-built run."""

from __future__ import annotations

import pytest

from tests.report.fixtures import build_run
from warmer.model.run import RunReport


@pytest.fixture
def run() -> RunReport:
    """The fixed run (passing, failing and no-data checks, three tiers, hostile strings)."""
    return build_run()
