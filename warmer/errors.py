"""The one exception tree of warmer and the exit codes it maps to.

Every error a user can cause or meet carries a hint saying what to do next; foreign
exceptions (OSError, httpx, redis, pyarrow ...) are translated at the boundary where they
happen with ``raise WarmerError(...) from exc`` so the CLI only ever sees this tree::

    WarmerError                       exit 2 unless a subclass says otherwise
    ├── UsageError                    bad flag or combination of flags
    ├── ConfigError                   warmer.toml / env / check expression is invalid
    ├── InputError                    a log, sample or run directory cannot be read
    │   └── MalformedInputError       a malformed record under --strict
    ├── UnsafeTargetError             target is a protected host or an unsafe method
    └── RunError                      exit 3: something the run needs is unreachable
        ├── TargetUnreachableError    the candidate does not answer
        │   └── TargetFailedError     ... any more: it failed a run of requests mid-replay
        └── ObserverUnreachableError  a required tier or backend source does not answer
            └── ObserverLostError     ... any more: it stopped answering mid-run
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes; the contract with CD pipelines (PRODUCT.md)."""

    OK = 0
    """Every check passed."""
    CHECK_FAILED = 1
    """At least one check failed (or had no data)."""
    USAGE = 2
    """Usage, configuration or input error: nothing was sent."""
    RUN_ERROR = 3
    """The target or a required observer is unreachable."""
    INTERRUPTED = 130
    """SIGINT/SIGTERM; a partial report was still written."""


class WarmerError(Exception):
    """Base of every error warmer raises on purpose.

    ``message`` says what went wrong in one sentence; ``hint`` says what to do about it.
    """

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nTip: {self.hint}"
        return self.message


class UsageError(WarmerError):
    """A flag or a combination of flags that cannot work."""


class ConfigError(WarmerError):
    """Invalid configuration; ``path`` names the bad field, e.g. ``tiers.l1.url``."""

    def __init__(self, message: str, hint: str | None = None, *, path: str | None = None) -> None:
        if path:
            message = f"{path}: {message}"
        super().__init__(message, hint)
        self.path = path


class InputError(WarmerError):
    """An input file (log, sample, results, run directory) cannot be used."""


class MalformedInputError(InputError):
    """A malformed record met under ``--strict``."""


class UnsafeTargetError(WarmerError):
    """The target is protected or the request would not be safe to replay."""


class RunError(WarmerError):
    """The run cannot go on: something it needs does not answer."""

    exit_code = ExitCode.RUN_ERROR


class TargetUnreachableError(RunError):
    """The candidate target does not accept connections or answer in time."""


class TargetFailedError(TargetUnreachableError):
    """The candidate stopped answering during a replay (a streak or a share of failures)."""


class ObserverUnreachableError(RunError):
    """A required observer (tier or backend source) cannot be reached."""


class ObserverLostError(ObserverUnreachableError):
    """A required observer answered at preflight, then stopped answering during the run."""


class Interrupted(WarmerError):
    """The run was interrupted by SIGINT/SIGTERM after writing what it had."""

    exit_code = ExitCode.INTERRUPTED
