"""Stage 4 — gate: warm, verify on held-out traffic, judge checks, decide the exit code.

The public names below are imported on first use, so loading a config (which parses
checks) does not pull in the orchestration and its dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CheckOutcome": "warmer.gate.evaluate",
    "evaluate": "warmer.gate.evaluate",
    "verdict": "warmer.gate.evaluate",
    "Evidence": "warmer.gate.diagnose",
    "diagnose": "warmer.gate.diagnose",
    "GateOptions": "warmer.gate.run",
    "GateResult": "warmer.gate.run",
    "prepare": "warmer.gate.run",
    "run_gate": "warmer.gate.run",
    "rejudge": "warmer.gate.rejudge",
    "build_observation": "warmer.gate.build",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'warmer.gate' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
