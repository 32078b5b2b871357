"""The governing authority's admin web UI, served with the management API (issue 18).

``install_ui(app)`` adds the UI under ``/ui/`` (and ``/`` redirects there) to an app
made by :func:`federation.central.api.create_app` with the management API on it;
``sild central serve`` does this on the port that serves the management API (its own
HTTPS port with ``--api-port``). Server-rendered pages over the same registry calls as
the API's views, so rules and error codes are the API's; sign-in, sessions, CSRF and
roles are :mod:`trust.accounts`' (accounts are made with ``sild central user add``).
Which roles may open which page or take which action is :mod:`._web`'s table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._install import install_ui
    from ._web import NAV, PREFIX, SESSION_COOKIE

__all__ = ["NAV", "PREFIX", "SESSION_COOKIE", "install_ui"]

__getattr__, __dir__ = attach(__name__, {
    "install_ui": "._install",
    "NAV": "._web", "PREFIX": "._web", "SESSION_COOKIE": "._web",
})
