"""``warmer demo``: the whole gate on the bundled candidate, Redis tiers and sample."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from warmer.cli.gate import gate_options, leave, run_and_print

if TYPE_CHECKING:
    from warmer.config.schema import Config

_SCENARIOS = ("healthy", "undersized-l0", "short-ttl", "no-l2")


@click.command("demo")
@click.option(
    "--scenario",
    type=click.Choice(_SCENARIOS),
    default="healthy",
    show_default=True,
    help="Candidate configuration to gate: a healthy one or one with a known fault.",
)
@click.option(
    "--sample",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Sample to use instead of the bundled one.",
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path),
    help="Directory for the run (default: warmer-runs/<run id>).",
)
def demo(scenario: str, sample: Path | None, run_dir: Path | None) -> None:
    """Start Redis L1/L2 and the reference candidate, gate it, print the verdict.

    \b
    Everything started here is stopped at the end, also on Ctrl-C.
    Exit code is the gate's: 0 pass, 1 a check failed.
    \b
    Examples:
      warmer demo
      warmer demo --scenario undersized-l0
    """
    from warmer.config import load_config
    from warmer.demo.scenarios import bundled_config
    from warmer.demo.scenarios import scenario as find_scenario
    from warmer.demo.services import remove_scratch_dirs
    from warmer.gate.run import prepare

    spec = find_scenario(scenario)
    if sample is not None:  # a bad --sample is exit 2 before any server is started
        from warmer.sample.store import open_sample

        open_sample(sample)
    click.echo(f"demo scenario {spec.name}: {spec.description}", err=True)
    try:
        with spec.start() as stack:
            click.echo(
                f"candidate at {stack.target} (L1 {stack.l1.address}, L2 {stack.l2.address})",
                err=True,
            )
            config, _ = load_config(bundled_config(), {**os.environ, **stack.env()})
            options = {"dry_run": False, "extra_checks": (), "run_dir": run_dir}
            if sample is not None:
                config = _with_sample(config, sample)
            prepared = prepare(gate_options(config, options), profile=False)
            code = run_and_print(prepared, config)
    finally:
        # An interrupt between making a server's directory and starting it leaves the
        # directory to no server: whatever is left is removed here.
        remove_scratch_dirs()
    leave(code)


def _with_sample(config: Config, sample: Path) -> Config:
    import dataclasses

    return dataclasses.replace(config, gate=dataclasses.replace(config.gate, sample=str(sample)))
