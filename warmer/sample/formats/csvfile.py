"""CSV with a header row; columns found through a mapping (``ts=timestamp``) or defaults.

Fields may be quoted (RFC 4180) but must not contain newlines: each line is one record.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, BinaryIO

from warmer.sample.formats._lines import iter_line_blocks
from warmer.sample.formats._records import build_row, collect, rows_to_table
from warmer.sample.formats.interface import ParsedBlock, Rejects


@dataclass(frozen=True)
class CsvFormat:
    """Comma-separated values; the first line names the columns."""

    mapping: Mapping[str, str] = field(default_factory=dict)
    name: str = "CSV"
    delimiter: str = ","
    tz: tzinfo | None = None
    """Zone of timestamps written without one (UTC when None)."""

    def parse(self, stream: BinaryIO) -> Iterator[ParsedBlock]:
        header: list[str] | None = None
        for block in iter_line_blocks(stream, 4 << 20):
            rows: list[dict[str, Any]] = []
            rejects = Rejects()
            texts = block.data.decode("utf-8").split("\n")[: block.n_lines]
            for i, text in enumerate(texts):
                line = block.first_line + i
                if line in block.rejected:
                    rejects.add(line, block.rejected[line])
                    continue
                if not text.strip():
                    if header is not None:
                        rejects.add(line, "empty line")
                    continue
                cells = next(csv.reader([text], delimiter=self.delimiter), [])
                if header is None:
                    header = [c.strip() for c in cells]
                    continue
                collect(rows, rejects, line, self._row(header, cells, line))
            yield ParsedBlock(rows_to_table(rows), rejects, block.n_lines)

    def _row(self, header: list[str], cells: list[str], line: int) -> dict[str, Any] | str:
        if len(cells) != len(header):
            return f"expected {len(header)} columns, found {len(cells)}"
        record = dict(zip(header, cells, strict=True))
        return build_row(record.get, self.mapping, line, self.tz)
