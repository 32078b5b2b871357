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
    from ._drain import (
        DEFAULT_GRACE_SECONDS, DEFAULT_TIMEOUT_SECONDS, DrainRequest, DrainWatch, clear_drain, drain_status, read_drain,
        request_drain,
    )
    from ._haproxy import ClusterNode, cluster_config, haproxy_config, node_from_directory
    from ._healthport import HealthApp
    from ._node import GatewayNode, PolicyCache
    from ._shared import SharedFiles, soft_key_notice
    from ._status import gateway_status, refresh_own_ocsp, status_lines
    from ._tsas import check_timestamping_change, choose_timestamping_services, timestamping_services
    from ._workers import parse_listen, sild_command

__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "ClusterNode",
    "SharedFiles",
    "DrainRequest",
    "DrainWatch",
    "GatewayNode",
    "HealthApp",
    "PolicyCache",
    "check_timestamping_change",
    "choose_timestamping_services",
    "clear_drain",
    "cluster_config",
    "drain_status",
    "gateway_status",
    "haproxy_config",
    "node_from_directory",
    "parse_listen",
    "read_drain",
    "refresh_own_ocsp",
    "request_drain",
    "sild_command",
    "soft_key_notice",
    "status_lines",
    "timestamping_services",
]

__getattr__, __dir__ = attach(__name__, {
    "DEFAULT_GRACE_SECONDS": "._drain",
    "DEFAULT_TIMEOUT_SECONDS": "._drain",
    "ClusterNode": "._haproxy",
    "SharedFiles": "._shared",
    "DrainRequest": "._drain",
    "DrainWatch": "._drain",
    "GatewayNode": "._node",
    "HealthApp": "._healthport",
    "PolicyCache": "._node",
    "check_timestamping_change": "._tsas",
    "choose_timestamping_services": "._tsas",
    "clear_drain": "._drain",
    "cluster_config": "._haproxy",
    "drain_status": "._drain",
    "gateway_status": "._status",
    "haproxy_config": "._haproxy",
    "node_from_directory": "._haproxy",
    "parse_listen": "._workers",
    "read_drain": "._drain",
    "refresh_own_ocsp": "._status",
    "request_drain": "._drain",
    "sild_command": "._workers",
    "soft_key_notice": "._shared",
    "status_lines": "._status",
    "timestamping_services": "._tsas",
})
