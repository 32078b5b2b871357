"""``sild demo``: the main job of the README's first command."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option("--keep", is_flag=True, help="Leave the network running and print how to explore it.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Where the sandbox lives (default: a new temporary directory).")
@click.option("--timeout", type=float, default=120.0, show_default=True,
              help="Seconds any one part may take to become healthy.")
@click.option("--tracker", is_flag=True, help="One more step: a FI person sees who read their data (the data tracker).")
def demo_command(keep: bool, directory: Path | None, timeout: float, tracker: bool) -> None:
    """Two federated countries (EE, FI) exchanging data on this machine, step by step."""
    from gateway.sandbox import run_demo

    raise SystemExit(run_demo(keep=keep, directory=directory, timeout=timeout, tracker=tracker))
