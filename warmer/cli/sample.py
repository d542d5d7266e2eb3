"""``warmer sample``: the group; its subcommands live in one module each, imported on use."""

from __future__ import annotations

import importlib

import click

from warmer.cli._types import harden

# `warmer sample import` should not pay for loading the analysis behind `inspect`.
_SUBCOMMANDS = {
    "import": ("warmer.cli.sample_import", "import_command"),
    "inspect": ("warmer.cli.sample_inspect", "inspect_command"),
}


class _LazySampleGroup(click.Group):
    """Subcommands are imported only when invoked (or listed by ``--help``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _SUBCOMMANDS:
            return None
        module_name, attr = _SUBCOMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return harden(command)


@click.group(cls=_LazySampleGroup)
def sample() -> None:
    """Import captured traffic into a canonical sample, and inspect samples."""
