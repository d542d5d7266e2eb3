"""Arrow columns as integer codes: what the header inference works on, row by row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def value_codes(column: Any, *, nulls_too: bool = False) -> tuple[np.ndarray, list[Any]]:
    """(index of each row's value, the distinct values); a null is -1 unless ``nulls_too``.

    A dictionary-encoded column (how a long run's ``key`` is read, to hold a fraction of
    its strings) is used as it is, its chunks' dictionaries unified first.
    """
    if isinstance(column, pa.ChunkedArray):
        if pa.types.is_dictionary(column.type):
            column = column.unify_dictionaries()
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type) and nulls_too and column.null_count:
        column = column.dictionary_decode()
    if pa.types.is_dictionary(column.type):
        encoded = column
    else:
        encoding = "encode" if nulls_too else "mask"
        encoded = pc.dictionary_encode(column, null_encoding=encoding)
    indices = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.intp)
    return indices, encoded.dictionary.to_pylist()
