"""JSON lines: one object per line, fields found through a mapping or common defaults.

A line that is not a JSON object, or lacks a usable timestamp or request, is malformed.
The header line of a warmer sample (``{"warmer_sample": ...}``) is skipped, so a sample
can be re-imported (re-scrubbed, re-keyed, downsampled).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, BinaryIO

import orjson

from warmer.sample.formats._lines import iter_line_blocks
from warmer.sample.formats._records import build_row, collect, dotted, rows_to_table
from warmer.sample.formats.interface import ParsedBlock, Rejects

_HEADER = "warmer sample header"


@dataclass(frozen=True)
class JsonLinesFormat:
    """JSON lines with a field mapping (sample field -> dotted source path)."""

    mapping: Mapping[str, str] = field(default_factory=dict)
    name: str = "JSON lines"
    tz: tzinfo | None = None
    """Zone of timestamps written without one (UTC when None)."""

    def parse(self, stream: BinaryIO) -> Iterator[ParsedBlock]:
        for block in iter_line_blocks(stream, 4 << 20):
            rows: list[dict[str, Any]] = []
            rejects = Rejects()
            for i, text in enumerate(block.data.split(b"\n")[: block.n_lines]):
                line = block.first_line + i
                if line in block.rejected:
                    rejects.add(line, block.rejected[line])
                    continue
                row = self._row(text, line)
                if row != _HEADER:
                    collect(rows, rejects, line, row)
            yield ParsedBlock(rows_to_table(rows), rejects, block.n_lines)

    def _row(self, text: bytes, line: int) -> dict[str, Any] | str:
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError:
            return "not a JSON object"
        if not isinstance(record, dict):
            return "not a JSON object"
        if "warmer_sample" in record and len(record) == 1:
            return _HEADER
        return build_row(dotted(record), self.mapping, line, self.tz)
