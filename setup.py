"""The build's one addition to pyproject.toml: three small C extensions on hot paths.

* ``warmer.observe.parsers._cache_status_c``: the common path of the Cache-Status parser
  (a replay parses one header per response; issue 4 budgets 2 µs).
* ``warmer.sample.formats._tokenize_c``: one pass that checks, splits and derives the
  fields of an nginx ``log_format`` (issue 2's import speed).
* ``warmer.sample._keyhash_c``: the key hash SHARDS samples by, one loop per key (issue
  13's miss-ratio curve of a 10M-request sample).

All are ``optional=True``: on a machine without a C compiler the install goes on without
them and the same work runs in Python on Arrow, only slower.
"""

from setuptools import Extension, setup

FLAGS = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]

setup(
    ext_modules=[
        Extension(
            "warmer.observe.parsers._cache_status_c",
            ["warmer/observe/parsers/_cache_status_c.c"],
            optional=True,
            extra_compile_args=FLAGS,
        ),
        Extension(
            "warmer.sample.formats._tokenize_c",
            ["warmer/sample/formats/_tokenize_c.c"],
            optional=True,
            extra_compile_args=FLAGS,
        ),
        Extension(
            "warmer.sample._keyhash_c",
            ["warmer/sample/_keyhash_c.c"],
            optional=True,
            extra_compile_args=FLAGS,
        ),
    ]
)
