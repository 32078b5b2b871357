"""The authority's management API: one blueprint per resource.

JSON over HTTP with an OpenAPI description (``central_api.json``), API keys with
roles, and the error shape shared with the gateway's admin API; the distribution
blueprint serves the published configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._app import CentralAppConfig, create_app

__all__ = [
    "CentralAppConfig",
    "create_app",
]

__getattr__, __dir__ = attach(__name__, {
    "CentralAppConfig": "._app",
    "create_app": "._app",
})
