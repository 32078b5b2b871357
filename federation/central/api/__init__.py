"""The authority's management API: one blueprint per resource.

JSON over HTTP with an OpenAPI description (``central_api.json``), API keys with
roles, and the error shape shared with the gateway's admin API; the distribution
blueprint serves the published configuration. The admin web UI (``federation.central.ui``)
acts through the same registry calls and the same identifier readers (``member_id``,
``subsystem_id``, ``client_id``, ``server_id``) and answers a refusal with the status
``status_of`` gives it, so its rules and error codes are the API's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._app import SELF_AUDITED, CentralAppConfig, create_app
    from ._errors import status_of
    from ._http import ApiContext, ApiError, client_id, member_id, server_id, subsystem_id

__all__ = [
    "ApiContext",
    "ApiError",
    "SELF_AUDITED",
    "CentralAppConfig",
    "client_id",
    "create_app",
    "member_id",
    "server_id",
    "status_of",
    "subsystem_id",
]

__getattr__, __dir__ = attach(__name__, {
    "CentralAppConfig": "._app",
    "create_app": "._app",
    "SELF_AUDITED": "._app",
    "status_of": "._errors",
    "ApiContext": "._http",
    "ApiError": "._http",
    "client_id": "._http",
    "member_id": "._http",
    "server_id": "._http",
    "subsystem_id": "._http",
})
