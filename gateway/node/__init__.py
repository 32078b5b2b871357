"""A running gateway node: start-up, ports, jobs and worker processes.

``GatewayNode`` wires the rooms together from a gateway directory, binds the ports,
runs the periodic jobs (configuration download, OCSP refresh, timestamping,
archiving) and, with ``workers`` > 1, supervises the worker processes that serve the
ports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._node import GatewayNode, PolicyCache
    from ._status import gateway_status, refresh_own_ocsp, status_lines
    from ._workers import parse_listen, sild_command

__all__ = [
    "GatewayNode",
    "PolicyCache",
    "gateway_status",
    "parse_listen",
    "refresh_own_ocsp",
    "sild_command",
    "status_lines",
]

__getattr__, __dir__ = attach(__name__, {
    "GatewayNode": "._node",
    "PolicyCache": "._node",
    "gateway_status": "._status",
    "parse_listen": "._workers",
    "refresh_own_ocsp": "._status",
    "sild_command": "._workers",
    "status_lines": "._status",
})
