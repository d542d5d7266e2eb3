"""Write docs/configuration.md from the config model (``make docs``; ``--check`` compares)."""

from __future__ import annotations

import sys

from _generated_doc import write_or_check

from warmer.config.reference import render_reference

if __name__ == "__main__":
    sys.exit(write_or_check("configuration.md", render_reference, sys.argv[1:]))
