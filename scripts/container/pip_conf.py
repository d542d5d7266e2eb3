"""Write the pip configuration a container build needs, taken from this host's pip.

Usage: ``python3 pip_conf.py OUT_DIR`` writes ``OUT_DIR/pip.conf`` and prints the CA
bundle the host's pip uses (empty line when it uses pip's own). The index settings are
kept, the ``file://`` locations dropped (a container cannot see them) and ``cert`` points
at the secret mount ``/run/secrets/pip-ca.pem``. scripts/container.sh hands both files to
``podman build`` as build secrets, so nothing of this host is stored in the image.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

KEPT = ("index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout", "retries")
CA_IN_BUILD = "/run/secrets/pip-ca.pem"


def host_settings() -> dict[str, str]:
    """``pip config list`` as {key: value}; files first, then ``PIP_*`` variables win."""
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    settings: dict[str, str] = {}
    for line in sorted(listing.splitlines(), key=lambda text: text.startswith(":env:")):
        name, sep, value = line.partition("=")
        if sep:
            settings[name.rsplit(".", 1)[-1]] = value.strip().strip("'\"")
    return settings


def reachable(urls: str) -> str:
    """The locations of ``urls`` a build container can reach (no local paths)."""
    return " ".join(url for url in urls.split() if url.startswith(("http://", "https://")))


def ca_bundle(settings: dict[str, str]) -> str:
    """The CA bundle file the host's pip is configured with, or "" (pip's own)."""
    cert = settings.get("cert", "")
    return cert if cert and Path(cert).is_file() else ""


def build_conf(settings: dict[str, str]) -> str:
    lines = ["[global]"]
    for key in KEPT:
        value = settings.get(key, "")
        if key.endswith("index-url"):
            value = reachable(value)
        if value:
            lines.append(f"{key} = {value}")
    if ca_bundle(settings):
        lines.append(f"cert = {CA_IN_BUILD}")
    return "\n".join(lines) + "\n"


def main(out_dir: str) -> None:
    settings = host_settings()
    conf = Path(out_dir, "pip.conf")
    conf.touch(mode=0o600)  # an index URL may carry a password
    conf.write_text(build_conf(settings), encoding="utf-8")
    print(ca_bundle(settings))


if __name__ == "__main__":
    main(sys.argv[1])
