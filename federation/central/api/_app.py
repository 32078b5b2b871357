"""The governing authority's HTTP app: configuration distribution + management API.

``create_app(config)`` builds a Flask app over one authority directory:

* **Distribution** (no authentication, static signed files):
  :mod:`federation.central.api._distribution`.
* **Management API** under ``/api/v1`` (JSON, described by ``/api/v1/openapi.json``):
  API keys (``Authorization: Bearer <key>`` or ``X-API-Key: <key>``) with roles;
  registration requests are the exception: they are authenticated by their own
  signatures (:mod:`federation.central._registration`). One blueprint per resource
  (``_members``, ``_gateways``, ``_cas``, ``_settings``, ``_anchors``, ``_signing``,
  ``_requests``, ``_keys``) over the shared parsing and key check of ``_http``.
* **Errors**: every refusal is a 4xx in the one error shape of ``_errors``; nothing
  internal (paths, stack traces) is put in a response.

With ``management=False`` the app serves only what gateways call without a key
(distribution, their signed registration requests, the OpenAPI document): the node
then serves the management API on a port of its own, over HTTPS
(:mod:`federation.central._node`), and API keys never reach the plain-HTTP port.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Flask, Response, request

from trust.infra import utc_now
from federation.central.registry import CentralDir

from ._anchors import anchors_blueprint
from ._backup import backup_blueprint
from ._cas import cas_blueprint
from ._edits import edits_blueprint
from ._distribution import GENERATED_VERSIONS, OPENAPI_FILE, distribution_blueprint
from ._errors import LOG, error_response, install_error_handlers
from ._gateways import gateways_blueprint
from ._http import ApiContext
from ._keys import keys_blueprint
from ._members import members_blueprint
from ._monitoring import monitoring_blueprint
from ._requests import requests_blueprint
from ._settings import settings_blueprint
from ._signing import signing_blueprint

RESOURCES: tuple[Callable[[ApiContext], Blueprint], ...] = (
    settings_blueprint, members_blueprint, gateways_blueprint, cas_blueprint, anchors_blueprint, signing_blueprint,
    requests_blueprint, keys_blueprint, backup_blueprint,
    edits_blueprint,
    monitoring_blueprint,
)


@dataclass(frozen=True)
class CentralAppConfig:
    """What the app needs: the authority directory, a clock, and a hook called after each change."""

    directory: Path
    clock: Callable[[], dt.datetime] = utc_now
    on_change: Callable[[], None] | None = field(default=None, compare=False)
    max_body_bytes: int = 1024 * 1024
    management: bool = True  # False: only what gateways call without a key (the management API is elsewhere)

    def __post_init__(self) -> None:
        if not Path(self.directory).is_dir():
            raise ValueError(f"{self.directory} is not a directory")


def create_app(config: CentralAppConfig) -> Flask:
    app = Flask("sild.central")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    home = CentralDir(config.directory, clock=config.clock)
    app.extensions["sild.central"] = {"home": home, "config": config}
    app.register_blueprint(distribution_blueprint(home.public_dir))
    context = ApiContext(home, home.registry(), config)
    for resource in RESOURCES:
        app.register_blueprint(resource(context))
    install_error_handlers(app)
    if not config.management:
        app.before_request(_keyless_only)
    return app


KEYLESS_API = frozenset({("POST", "/api/v1/registration-requests"), ("GET", "/api/v1/openapi.json")})


def _keyless_only() -> Response | None:
    """On a distribution-only port, every management path answers 404 before any key is read."""
    if request.path.startswith("/api/") and (request.method, request.path) not in KEYLESS_API:
        return error_response(404, "api.management_elsewhere",
                              "the management API is served on the authority's management port (HTTPS)")
    return None


__all__ = ["GENERATED_VERSIONS", "LOG", "OPENAPI_FILE", "CentralAppConfig", "create_app", "error_response"]
