"""Write docs/troubleshooting.md from the diagnosis catalog and the error tree (``make docs``;
``--check`` compares)."""

from __future__ import annotations

import sys

from _generated_doc import write_or_check

from warmer.gate.troubleshooting import render_troubleshooting

if __name__ == "__main__":
    sys.exit(write_or_check("troubleshooting.md", render_troubleshooting, sys.argv[1:]))
