"""Command-line interface: the only package that imports click or prints."""

from warmer.cli.main import cli, main

__all__ = ["cli", "main"]
