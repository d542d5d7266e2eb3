"""``warmer sample``: the group; its subcommands live in one module each."""

from __future__ import annotations

import click

from warmer.cli.sample_import import import_command
from warmer.cli.sample_inspect import inspect_command


@click.group()
def sample() -> None:
    """Import captured traffic into a canonical sample, and inspect samples."""


sample.add_command(import_command, "import")
sample.add_command(inspect_command, "inspect")
