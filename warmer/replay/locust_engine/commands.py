"""The command lines of warmer's Locust processes: the master script and a worker."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from warmer.errors import UsageError

HERE = Path(__file__).parent
MASTER = HERE / "master.py"
"""The master program (Locust as a library), run by path under this Python."""
LOCUSTFILE = HERE / "locustfile.py"
"""The workers' locustfile: Locust loads it by path."""


def locust_command() -> list[str]:
    """The ``locust`` executable next to this Python, or on PATH; UsageError without Locust."""
    exe = shutil.which("locust", path=os.path.dirname(sys.executable)) or shutil.which("locust")
    if exe is None:
        raise UsageError("the locust engine needs Locust", "pip install 'warmer[locust]'")
    return [exe]


def master_command() -> list[str]:
    """The command line of the master program."""
    locust_command()  # the same "needs Locust" error as for the workers
    return [sys.executable, str(MASTER)]


def worker_command(host: str, port: int, processes: int = 1) -> list[str]:
    """A Locust worker that takes warmer's jobs from the master at ``host:port``."""
    command = [*locust_command(), "-f", str(LOCUSTFILE), "--worker"]
    command += ["--master-host", host, "--master-port", str(port), "--loglevel", "WARNING"]
    if processes > 1:
        command += ["--processes", str(processes)]
    return command
