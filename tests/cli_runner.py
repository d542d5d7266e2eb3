"""Run the real `warmer` command in a fresh interpreter, as a pipeline would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_warmer(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """``python -m warmer ARGS``; the caller's ``WARMER_*`` variables never leak in.

    Nor does ``GITHUB_STEP_SUMMARY``: under GitHub Actions every gate a test runs would
    append to the job summary.
    """
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WARMER_") and k != "GITHUB_STEP_SUMMARY"
    }
    environment.update({"NO_COLOR": "1", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "warmer", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=stdin.decode() if stdin is not None else None,
        env=environment,
        timeout=timeout,
        check=False,
    )
