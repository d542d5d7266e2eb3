"""Shared helpers for the importer tests: import text or bytes, read the result back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warmer.sample.importer import ImportOptions, ImportReport, import_logs
from warmer.sample.store import open_sample

COMBINED_LINE = (
    '10.0.0.{ip} - - [02/Nov/2026:08:00:{sec:02d} +0100] "{method} {target} HTTP/1.1" 200 512 '
    '"-" "curl/8.0"'
)


def combined(n: int = 3, target: str = "/p/{i}", method: str = "GET") -> str:
    """``n`` combined-format lines, one second apart."""
    return "".join(
        COMBINED_LINE.format(ip=i % 250, sec=i % 60, method=method, target=target.format(i=i))
        + "\n"
        for i in range(n)
    )


def import_text(
    tmp_path: Path, data: str | bytes, options: ImportOptions | None = None, name: str = "in.log"
) -> tuple[ImportReport, list[dict[str, Any]], Path]:
    """Write ``data`` to a file, import it to Parquet, return the report and the rows."""
    src = tmp_path / name
    src.write_bytes(data.encode() if isinstance(data, str) else data)
    out = tmp_path / "out.parquet"
    report = import_logs([str(src)], out, options)
    return report, open_sample(out).to_table().to_pylist(), out
