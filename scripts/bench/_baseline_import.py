"""The straightforward importer: one Python ``re`` match per line, then scrub, key, Parquet.

This is the baseline ``bench_import.py`` compares warmer against (same key function,
same scrub lists, same output format), written the way one would without vectorising.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from warmer.config.schema import DEFAULT_SCRUB_PARAMS
from warmer.sample.keys import make_key_function

LINE = re.compile(
    r'^(\S+) \S+ (\S+) \[([^\]]+)\] "([A-Z]+) ([^ "]+) [^"]*" (\d{3}) (\d+|-) '
    r'"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$'
)
SECRET = frozenset(DEFAULT_SCRUB_PARAMS)
SCHEMA = pa.schema(
    [
        ("ts", pa.float64()),
        ("method", pa.string()),
        ("target", pa.string()),
        ("key", pa.string()),
        ("status", pa.int64()),
    ]
)


def scrub(target: str) -> str:
    if "?" not in target:
        return target
    path, _, query = target.partition("?")
    params = []
    for p in query.split("&"):
        name, eq, _ = p.partition("=")
        params.append(f"{name}=REDACTED" if eq and unquote(name).lower() in SECRET else p)
    return path + "?" + "&".join(params)


def main(src: str, out: str) -> int:
    key = make_key_function()
    writer = None
    rows: dict[str, list[object]] = {k: [] for k in ("ts", "method", "target", "key", "status")}
    bad = 0
    with open(src, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = LINE.match(line.rstrip("\n"))
            if not m:
                bad += 1
                continue
            target = scrub(m.group(5))
            rows["ts"].append(datetime.strptime(m.group(3), "%d/%b/%Y:%H:%M:%S %z").timestamp())
            rows["method"].append(m.group(4))
            rows["target"].append(target)
            rows["key"].append(key(m.group(4), target, {}))
            rows["status"].append(int(m.group(6)))
            if len(rows["ts"]) >= 100_000:
                writer = _flush(writer, rows, out)
    _flush(writer, rows, out).close()
    print(f"baseline: {bad} malformed", file=sys.stderr)
    return 0


def _flush(
    writer: pq.ParquetWriter | None, rows: dict[str, list[object]], out: str
) -> pq.ParquetWriter:
    table = pa.table(rows, schema=SCHEMA)
    writer = writer or pq.ParquetWriter(out, table.schema, compression="zstd")
    writer.write_table(table)
    for v in rows.values():
        v.clear()
    return writer


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
