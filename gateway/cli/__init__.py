"""The ``sild`` command line: one click group per package."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._main import cli, main

__all__ = [
    "cli",
    "main",
]

__getattr__, __dir__ = attach(__name__, {
    "cli": "._main",
    "main": "._main",
})
