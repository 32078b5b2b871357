"""The gateway's admin web UI (issue 18): server-rendered pages on the admin port, built on the management API.

Served at ``/ui`` of the admin port (HTTPS) beside ``/api/v1``; every page reads and
every form acts through the API's own views, called in-process as the signed-in
user (:mod:`._api`), so roles, validation and error codes are the API's. Users,
sessions, CSRF and throttling are :mod:`trust.accounts`'; this room is the thin Flask
adapter (:mod:`._web`), the table of which role may use which page (:mod:`._pages`),
one module per group of pages, and ``sild gateway user add|list|remove|passwd``
(:mod:`._cli`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._api import API_ROLES, ApiFailure, api_roles
    from ._cli import user_group
    from ._site import ui_blueprints

__all__ = ["API_ROLES", "ApiFailure", "api_roles", "ui_blueprints", "user_group"]

__getattr__, __dir__ = attach(__name__, {
    "API_ROLES": "._api", "ApiFailure": "._api", "api_roles": "._api",
    "user_group": "._cli",
    "ui_blueprints": "._site",
})
