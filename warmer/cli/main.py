"""The `warmer` click group: global options, lazy subcommands, exit codes chosen here."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import signal
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import click

from warmer import __version__
from warmer.cli._context import AppContext
from warmer.cli._defaults import default_map
from warmer.cli._types import harden
from warmer.errors import ExitCode, Interrupted, WarmerError
from warmer.model.text import printable

# Subcommands are imported only when invoked, so `warmer --help` answers instantly
# (pandas, pyarrow and the HTTP engines are heavy).
_COMMANDS: dict[str, tuple[str, str]] = {
    "sample": ("warmer.cli.sample", "sample"),
    "replay": ("warmer.cli.replay", "replay"),
    "observe": ("warmer.cli.observe", "observe"),
    "gate": ("warmer.cli.gate", "gate"),
    "report": ("warmer.cli.report", "report"),
    "drift": ("warmer.cli.drift", "drift"),
    "demo": ("warmer.cli.demo", "demo"),
    "locust-worker": ("warmer.cli.locust_worker", "locust_worker"),
}

# The config sections each command reads: only those must be valid for it to run.
_SECTIONS: dict[str, frozenset[str]] = {
    "sample": frozenset({"sample"}),
    "replay": frozenset({"replay", "safety"}),
    "observe": frozenset({"tiers", "backend", "observe"}),
    "report": frozenset({"gate"}),
    "drift": frozenset({"tiers", "observe", "drift"}),
}

_SHORT_HELP = {
    "sample": "Import captured traffic into a canonical sample and inspect it.",
    "replay": "Replay a sample against a target URL and record every response.",
    "observe": "Snapshot every configured cache tier and the backend.",
    "gate": "Warm, verify on held-out traffic, judge the checks, write reports.",
    "report": "Re-render the reports of a run directory.",
    "drift": "Compare baseline and candidate cache tiers (config, TTLs, prefixes, memory).",
    "demo": "Run the whole gate on the bundled candidate and sample.",
    "locust-worker": "Send a Locust-engine run's traffic from this machine (--master HOST:PORT).",
}


class LazyGroup(click.Group):
    """A group whose subcommands live in modules imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in _COMMANDS if self._available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS or not self._available(cmd_name):
            return None
        module_name, attr = _COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return harden(command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _SHORT_HELP[name]) for name in self.list_commands(ctx)]
        if not rows:
            return
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    @staticmethod
    def _available(name: str) -> bool:
        return importlib.util.find_spec(_COMMANDS[name][0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="warmer")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="WARMER_CONFIG",
    help="warmer.toml to use (default: the nearest warmer.toml or pyproject.toml [tool.warmer]).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, config_path: Path | None) -> None:
    """Warm a candidate's cache tiers with recorded traffic and gate its promotion.

    \b
    Pipeline:  sample -> replay -> observe -> gate -> report
    Exit codes: 0 pass, 1 a check failed, 2 usage/config/input error,
                3 target or observer unreachable, 130 interrupted.
    Options of every command can also be set as WARMER_<COMMAND>_<OPTION>.
    """
    app = AppContext(
        debug=debug, config_path=config_path, sections=_SECTIONS.get(ctx.invoked_subcommand or "")
    )
    ctx.obj = app
    # The file's values become click defaults, so a flag or WARMER_* variable still wins.
    ctx.default_map = default_map(app.config)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and translate errors into exit codes.

    ``--debug`` adds tracebacks to the output and never changes the exit code.
    """
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    _interrupt_on_signals()
    _write_paths_as_given()
    try:
        # Under standalone_mode=False click returns the code of an Exit instead of exiting.
        result = cli.main(
            args=argv, prog_name="warmer", standalone_mode=False, auto_envvar_prefix="WARMER"
        )
    except WarmerError as exc:
        if debug:
            traceback.print_exc()
        print_error(exc)
        sys.exit(int(exc.exit_code))
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.ClickException as exc:
        exc.show()
        sys.exit(int(ExitCode.USAGE))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    sys.exit(result if isinstance(result, int) else int(ExitCode.OK))


def _write_paths_as_given() -> None:
    """A path that is not UTF-8 (``--run-dir $'r\\xff'``) is printed as its own bytes.

    Python hands such bytes over as lone surrogates; a strict UTF-8 stream would fail on
    them after the work was done. ``surrogateescape`` writes the original bytes back, so
    a script reading stdout gets the path it passed in.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A stream that cannot change (already closed, not a text wrapper) stays as is.
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="surrogateescape")


def _interrupt_on_signals() -> None:
    """SIGTERM and SIGHUP end a command the way Ctrl-C does (KeyboardInterrupt, exit 130).

    So ``finally`` blocks and context managers run: servers a command started are
    stopped, temporary directories and ``.part`` files removed. A gate run replaces these
    handlers with its own while it runs, to conclude and report what it sent.
    """

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    # The first use of tempfile probes the temporary directory by writing and removing a
    # file with a bare random name; an interrupt between the two would strand it there.
    tempfile.gettempdir()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, interrupt)


def print_error(exc: WarmerError) -> None:
    """``Error: what`` and ``Tip: what to do`` on stderr."""
    prefix = "Interrupted" if isinstance(exc, Interrupted) else "Error"
    # Messages may quote a sample or a server's answer: no control character gets through.
    message = printable(exc.message, keep_newlines=True)
    click.echo(click.style(f"{prefix}: ", fg="red", bold=True) + message, err=True)
    if exc.hint:
        click.echo(f"Tip: {printable(exc.hint, keep_newlines=True)}", err=True)


def exit_with(code: ExitCode | int) -> Any:
    """Leave a command with ``code``; used by commands whose result decides the exit code."""
    raise click.exceptions.Exit(int(code))
