"""``CandidateServer``: the candidate in a uvicorn child process on a free loopback port."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path
from typing import Self

from warmer.demo.candidate.settings import CandidateSettings
from warmer.demo.services import ManagedServer, free_port


class CandidateServer(ManagedServer):
    """The reference candidate, ready when ``/healthz`` answers; dies with its parent.

    ``settings.port`` is replaced by a free port unless ``keep_port`` is set.
    """

    name = "candidate"

    def __init__(
        self,
        settings: CandidateSettings | None = None,
        *,
        keep_port: bool = False,
        workdir: Path | None = None,
    ) -> None:
        super().__init__(workdir)
        settings = settings or CandidateSettings()
        self.settings = settings if keep_port else settings.replace(port=free_port())
        self.settings_path = self.workdir / "candidate.json"

    def command(self) -> list[str]:
        # Settings go through a file: Redis URLs may hold a password, argv is world-readable.
        self.settings_path.write_text(self.settings.to_json())
        self.settings_path.chmod(0o600)
        return [
            sys.executable,
            "-m",
            "warmer.demo.candidate",
            "--settings-file",
            str(self.settings_path),
        ]

    @property
    def url(self) -> str:
        """Base URL of the service, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def metrics_url(self) -> str:
        """Its Prometheus endpoint."""
        return f"{self.url}/metrics"

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1.0) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def restart(self) -> Self:
        """Cold restart on the same port: L0 and every counter lost, Redis tiers kept."""
        own, self._own_workdir = self._own_workdir, False
        try:
            self.stop()
        finally:
            self._own_workdir = own
        return self.start()
