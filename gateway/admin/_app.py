"""The gateway's admin API: JSON over HTTP(S), API keys with roles, OpenAPI-described.

X-Road has no published protocol for administering a security server, so sild uses
plain JSON (DESIGN 3) described by ``gateway/admin/admin_api.yaml`` (served at
``/api/v1/openapi.json``). Everything the ``sild gateway`` admin commands do is here:
clients, services, endpoints, access rights, local groups, message-log export,
operational monitoring records, status; plus ``/healthz`` for load balancers and
``/metrics`` for Prometheus.

:func:`create_app` only wires the pieces; each resource is one blueprint in its own
module (``_status``, ``_clients``, ``_services``, ``_rights``, ``_groups``,
``_records``, ``_keys`` for tokens, keys and certificates), request parsing and JSON
shapes are in ``_http``, the API-key check in ``_auth`` and the error answers in
``_errors``.

Identifiers in paths use X-Road's admin-API form with ``:`` separators
(``EE:GOV:70000001:tax``), so a ``/`` in the URL always separates resources; in JSON
bodies the usual text forms are accepted (``EE/GOV/70000001/tax`` or typed
``SUBSYSTEM:EE/GOV/70000001/tax``; groups as ``GLOBALGROUP:EE/code`` or
``LOCALGROUP:code``).

Authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Bad input gets
a 4xx with the shared error body (``Error`` in the OpenAPI description); unexpected
failures a 500 that names only a correlation id (the details go to the log, never to
the caller).
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, Flask

from ._audit import audit_blueprint, install_audit
from ._clients import clients_blueprint
from ._config import AdminConfig
from ._descriptions import descriptions_blueprint
from ._errors import install_error_handlers
from ._groups import groups_blueprint
from ._http import MAX_BODY, path_client, path_form
from ._keys import keys_blueprint
from ._records import records_blueprint
from ._requests import requests_blueprint
from ._rights import rights_blueprint
from ._services import services_blueprint
from .tracker import tracker_blueprint
from .ui import ui_blueprints
from .upkeep import anchor_blueprint, apikeys_blueprint, backup_blueprint, cluster_blueprint, status_blueprint
from .upkeep import tsa_blueprint

BLUEPRINTS: tuple[Callable[[AdminConfig], Blueprint], ...] = (
    status_blueprint, clients_blueprint, services_blueprint, rights_blueprint, groups_blueprint, records_blueprint,
    descriptions_blueprint,
    backup_blueprint,
    audit_blueprint,
    anchor_blueprint,
    keys_blueprint,
    requests_blueprint,
    cluster_blueprint,
    tracker_blueprint,
    apikeys_blueprint,
    tsa_blueprint,
)


def create_app(config: AdminConfig | Any) -> Flask:
    """The admin WSGI app; ``config`` is an :class:`AdminConfig` or a node with ``.serverconf`` etc."""
    if not isinstance(config, AdminConfig):
        config = AdminConfig.from_node(config)
    app = Flask("sild.gateway.admin")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]
    install_error_handlers(app)
    install_audit(app, config)  # every state-changing call, one hook (gateway.admin._audit)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint(config))
    for page_group in ui_blueprints(config):  # the admin web UI at /ui, on the same API (gateway.admin.ui)
        app.register_blueprint(page_group)
    return app


__all__ = ["AdminConfig", "create_app", "path_client", "path_form"]
