"""Public face of ``gateway.node``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._node import GatewayNode, PolicyCache
    from ._workers import parse_listen, sild_command

__all__ = [
    "GatewayNode",
    "PolicyCache",
    "parse_listen",
    "sild_command",
]

__getattr__, __dir__ = attach(__name__, {
    "GatewayNode": "._node",
    "PolicyCache": "._node",
    "parse_listen": "._workers",
    "sild_command": "._workers",
})
