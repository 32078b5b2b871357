"""``sild gateway tsa ...``: the timestamping services a gateway uses, from the command line.

A subroom of the CLI (``gateway/cli`` holds 15 modules): list the TSAs the global
configuration approves with the choice and each one's state, choose the ones to use
and their order (live, no restart), and stamp the waiting records now through the
running node. The operator guide, section 7, tells when to use which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._commands import tsa_group

__all__ = [
    "tsa_group",
]

__getattr__, __dir__ = attach(__name__, {
    "tsa_group": "._commands",
})
