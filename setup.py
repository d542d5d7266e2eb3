"""The build's one addition to pyproject.toml: the compiled Cache-Status common path.

``optional=True``: on a machine without a C compiler the install goes on without it and the
same parser runs in Python (``warmer/observe/parsers/cache_status.py``), only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "warmer.observe.parsers._cache_status_c",
            ["warmer/observe/parsers/_cache_status_c.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
        )
    ]
)
