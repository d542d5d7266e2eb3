"""Run the candidate under uvicorn: ``python -m warmer.demo.candidate [--settings-file F]``.

Without ``--settings-file`` the settings come from ``WARMER_CANDIDATE_*`` variables;
``--port`` overrides the port either way.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from warmer.demo.candidate.settings import CandidateSettings
from warmer.errors import WarmerError


def load_settings(argv: list[str] | None = None) -> CandidateSettings:
    """Settings from the command line (a JSON file) or the environment."""
    parser = argparse.ArgumentParser(prog="python -m warmer.demo.candidate")
    parser.add_argument("--settings-file", type=Path, help="JSON object of CandidateSettings")
    parser.add_argument("--port", type=int, help="listen on this port")
    args = parser.parse_args(argv)
    if args.settings_file:
        settings = CandidateSettings.from_json(args.settings_file.read_text())
    else:
        settings = CandidateSettings.from_env(os.environ)
    return settings.replace(port=args.port) if args.port else settings


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; exit 2 on bad settings."""
    try:
        settings = load_settings(argv)
    except WarmerError as exc:
        sys.stderr.write(f"candidate: {exc}\n")
        return 2
    import uvicorn

    from warmer.demo.candidate.app import CandidateApp

    uvicorn.run(
        CandidateApp(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
