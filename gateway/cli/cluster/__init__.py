"""``sild gateway drain`` and ``sild gateway cluster ...``: running one gateway as several nodes.

A subroom of the CLI (``gateway/cli`` holds 15 modules): the commands an operator of
a cluster runs, over the node's drain (:mod:`gateway.node._drain`), the HAProxy
configuration (:mod:`gateway.node._haproxy`) and the encrypted bundle a new node
joins with (:mod:`gateway.provision._join`). docs/scaling.md walks through them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._commands import cluster_group, drain_command

__all__ = [
    "cluster_group",
    "drain_command",
]

__getattr__, __dir__ = attach(__name__, {
    "cluster_group": "._commands",
    "drain_command": "._commands",
})
