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

__all__ = [
    "AdminConfig",
    "create_app",
]

__getattr__, __dir__ = attach(__name__, {
    "AdminConfig": "._config",
    "create_app": "._app",
})
