"""The contract every log format implements: a byte stream in, blocks of raw records out.

A format turns the (already decompressed) bytes of one input into a stream of
:class:`ParsedBlock`: an Arrow table in :data:`RAW_SCHEMA` (the sample columns minus the
cache key, plus the input line of each row) and the lines it rejected. Formats never
scrub, key or select; the importer does that once for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

import pyarrow as pa

from warmer.model.sample import SAMPLE_ARROW_SCHEMA

RAW_SCHEMA = pa.schema(
    [f for f in SAMPLE_ARROW_SCHEMA if f.name != "key"] + [pa.field("line", pa.int64())]
)
"""Columns a format yields: the sample's, without ``key``, with the 1-based input ``line``.

``client`` still holds the raw address here; the importer hashes it.
"""

MAX_REPORTED = 5
"""How many rejected lines are kept with their line number and reason."""


@dataclass
class Rejects:
    """Malformed input seen so far: a count, the first few lines and the count per reason."""

    count: int = 0
    first: list[tuple[int, str]] = field(default_factory=list)
    by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, line: int, reason: str, times: int = 1) -> None:
        """Record ``times`` rejected lines, the first of them at ``line``."""
        self.count += times
        self.by_reason[reason] = self.by_reason.get(reason, 0) + times
        if len(self.first) < MAX_REPORTED:
            self.first.append((line, reason))

    def extend(self, other: Rejects) -> None:
        """Fold ``other`` (a later part of the same input) into this one."""
        self.count += other.count
        for reason, n in other.by_reason.items():
            self.by_reason[reason] = self.by_reason.get(reason, 0) + n
        room = MAX_REPORTED - len(self.first)
        self.first.extend(other.first[: max(room, 0)])
        self.first.sort()


@dataclass
class ParsedBlock:
    """A slice of one input: parsed rows (``RAW_SCHEMA``) and the lines rejected in it."""

    table: pa.Table
    rejects: Rejects
    lines: int
    """Input lines (or entries) this block covered, accepted or not."""
    checked: bool = False
    """Every line was already checked free of raw control characters (line formats)."""


class LogFormat(Protocol):
    """One input format. ``name`` is what the summary and the sample's metadata show."""

    @property
    def name(self) -> str:
        """What the summary and the sample's metadata call this format."""
        ...

    def parse(self, stream: BinaryIO) -> Iterator[ParsedBlock]:
        """Parse the whole stream lazily; memory is bounded by one block, not the input."""
        ...
