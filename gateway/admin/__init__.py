"""The gateway's management API: one blueprint per resource.

JSON over HTTPS with an OpenAPI description (``admin_api.yaml``), API keys with
roles, and the error shape shared with the authority's API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._app import create_app
    from ._config import AdminConfig
    from ._requests import (
        apply_owner, check_address, mark_requested, registered_here, send_management_request,
        send_registration_request, sync_clients,
    )
    from .upkeep import admin_client_context, admin_ssl_context, admin_tls_files, admin_url, ensure_admin_tls

__all__ = [
    "AdminConfig",
    "admin_client_context",
    "admin_ssl_context",
    "admin_tls_files",
    "admin_url",
    "apply_owner",
    "check_address",
    "create_app",
    "ensure_admin_tls",
    "mark_requested",
    "registered_here",
    "send_management_request",
    "send_registration_request",
    "sync_clients",
]

__getattr__, __dir__ = attach(__name__, {
    "AdminConfig": "._config",
    "admin_client_context": ".upkeep",
    "admin_ssl_context": ".upkeep",
    "admin_tls_files": ".upkeep",
    "admin_url": ".upkeep",
    "create_app": "._app",
    "ensure_admin_tls": ".upkeep",
    "apply_owner": "._requests",
    "check_address": "._requests",
    "mark_requested": "._requests",
    "registered_here": "._requests",
    "send_management_request": "._requests",
    "send_registration_request": "._requests",
    "sync_clients": "._requests",
})
