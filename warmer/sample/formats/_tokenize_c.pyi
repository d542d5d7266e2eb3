"""Type stub of the compiled nginx tokenizer (``_tokenize_c.c``)."""

from collections.abc import Sequence

# (validity bitmap or None, int32 offsets, UTF-8 data, null count) of one string column
StringParts = tuple[bytearray | None, bytearray, bytearray, int]

def tokenize(
    block: bytes | bytearray | memoryview,
    first_line: int,
    plan: Sequence[tuple[int, bytes, bytes, int, int, int]],
    n_columns: int,
    n_headers: int,
    /,
) -> tuple[
    list[StringParts],
    tuple[bytearray, bytearray, StringParts] | None,
    bytearray,
    list[tuple[int, bytes]],
    list[tuple[int, int]],
]: ...
