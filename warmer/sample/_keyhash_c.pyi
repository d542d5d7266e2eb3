"""Type stub of the compiled key hash (``_keyhash_c.c``)."""

def hash_strings(
    offsets: bytes | memoryview | object,
    data: bytes | memoryview | object,
    start: int,
    count: int,
    out: object,
    /,
) -> None: ...
