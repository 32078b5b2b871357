"""The ``sild`` command line: one click group per package."""

from gateway.cli._main import cli, main

__all__ = ["cli", "main"]
