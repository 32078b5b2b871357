"""``sild gateway tracker ...``: the data tracker from the command line (issue 20, part 1).

A subroom of the CLI (``gateway/cli`` holds 15 modules): declare where a service's
requests name their data subject, and print (or render as HTML) who read one
subject's data. docs/tracker.md walks through them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._commands import tracker_group

__all__ = [
    "tracker_group",
]

__getattr__, __dir__ = attach(__name__, {
    "tracker_group": "._commands",
})
