"""Fixtures for the shipping tests: the reference candidate with its Redis tiers, a sample.

The examples, the image and the docs all gate the reference candidate (``warmer demo``'s
healthy scenario: L0 in the process, L1 sidecar Redis, L2 Redis over TCP) with
``examples/warmer.toml``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from warmer.demo.scenarios import DemoStack, scenario
from warmer.demo.services import find_redis_server
from warmer.model.sample import SampleMeta
from warmer.sample.store import SampleWriter, open_sample

REPO = Path(__file__).parents[2]
EXAMPLES = REPO / "examples"
DEMO_SAMPLE = REPO / "traffic_samples" / "demo.jsonl.gz"
SAMPLE_REQUESTS = 10_000
"""Enough for examples/warmer.toml's checks to pass on the healthy candidate (the first
5 000 requests leave the effective hit-rate ceiling at 0.65), few enough for a run of a
few seconds."""


@pytest.fixture(scope="session")
def example_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 10,000 requests of the bundled demo sample, as ``traffic.jsonl.gz``."""
    path = tmp_path_factory.mktemp("example-sample") / "traffic.jsonl.gz"
    table = open_sample(DEMO_SAMPLE).to_table().slice(0, SAMPLE_REQUESTS)
    writer = SampleWriter(path)
    writer.write_batch(table)
    writer.close(SampleMeta(requests=table.num_rows))
    return path


def start_stack(name: str, workdir: Path) -> DemoStack:
    """Start demo scenario ``name`` (candidate, L1 and L2 Redis) on free ports."""
    require(find_redis_server(), "redis-server")
    return scenario(name).start(workdir)


@pytest.fixture
def healthy_stack(tmp_path: Path) -> Iterator[DemoStack]:
    """A fresh healthy reference candidate: cold caches, every tier connected."""
    with start_stack("healthy", tmp_path / "stack") as stack:
        yield stack


def stack_env(stack: DemoStack) -> dict[str, str]:
    """The variables examples/warmer.toml reads, pointing at ``stack``."""
    return {"CANDIDATE_URL": stack.target, "L2_REDIS_URL": stack.l2.url}


def gate_workdir(path: Path, sample: Path) -> Path:
    """``path`` laid out as the examples expect: warmer.toml and traffic.jsonl.gz."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLES / "warmer.toml", path / "warmer.toml")
    shutil.copy(sample, path / "traffic.jsonl.gz")
    return path
