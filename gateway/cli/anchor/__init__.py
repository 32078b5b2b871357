"""``sild gateway anchor ...``: the gateway's configuration anchor from the command line.

A subroom of the CLI (``gateway/cli`` holds 15 modules): install a verified new anchor
(live, no restart) and list each anchor used and when (for evidence of an earlier
period). The operator guide, section 4, walks through a rotation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._commands import anchor_group

__all__ = [
    "anchor_group",
]

__getattr__, __dir__ = attach(__name__, {
    "anchor_group": "._commands",
})
