"""The gateway's upkeep over the admin API: diagnostics, the anchor, backups, API keys, the admin port's TLS,
draining the node, the bundle a new node of its cluster joins with, and the timestamping services.

These operations concern the node as a whole (its files, its certificates, its health)
rather than one resource of the server configuration, so they sit in their own room
beside the resource blueprints of :mod:`gateway.admin`; they use the parent's route
helper, configuration and error shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._anchor import anchor_blueprint
    from ._apikeys import apikeys_blueprint
    from ._backup import backup_blueprint
    from ._cluster import cluster_blueprint
    from ._status import status_blueprint
    from ._tsa import tsa_blueprint
    from ._tls import admin_client_context, admin_ssl_context, admin_tls_files, admin_url, ensure_admin_tls

__all__ = [
    "admin_client_context",
    "admin_ssl_context",
    "admin_tls_files",
    "admin_url",
    "anchor_blueprint",
    "apikeys_blueprint",
    "backup_blueprint",
    "cluster_blueprint",
    "ensure_admin_tls",
    "status_blueprint",
    "tsa_blueprint",
]

__getattr__, __dir__ = attach(__name__, {
    "admin_client_context": "._tls",
    "admin_ssl_context": "._tls",
    "admin_tls_files": "._tls",
    "admin_url": "._tls",
    "anchor_blueprint": "._anchor",
    "apikeys_blueprint": "._apikeys",
    "backup_blueprint": "._backup",
    "cluster_blueprint": "._cluster",
    "ensure_admin_tls": "._tls",
    "status_blueprint": "._status",
    "tsa_blueprint": "._tsa",
})
