"""A node's place in its cluster over the admin API: draining it, and the bundle a new node joins with.

``GET``/``POST /api/v1/drain``, ``POST /api/v1/cluster/bundle``.

Why: an operator (or an orchestrator) that manages a cluster through the API must be
able to take a node out and add one without a shell on the machines; the CLI
commands (``sild gateway drain``, ``sild gateway cluster export``) do the same things.

* ``POST /api/v1/drain`` starts the drain of the node serving this API
  (``GatewayNode.drain_now``: the marker every process of the node reads, as
  ``sild gateway drain`` writes it)
  and answers 202 at once: the node stops itself once the exchanges in flight have
  finished, so the answer cannot wait for the end. ``GET /api/v1/drain`` says
  whether a drain runs and when the ports close; after it the API is gone with its
  node, which is what the caller polls for.
* Joining has two sides. The new node is not running yet, so it has no API: it joins
  with ``sild gateway cluster join`` on its own machine. What the API gives is the
  primary's side, ``POST /api/v1/cluster/bundle``: the encrypted bundle
  (:func:`gateway.provision.export_cluster_bundle`) under the ``passphrase`` of the
  JSON body, the one the join asks for. Only the ``admin`` role gets it: it carries
  the soft token's keys (sealed twice: the passphrase and the token PIN).

Both calls are recorded in the audit log by the API's hook (``gateway.admin._audit``),
the passphrase redacted with every other secret-named field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from gateway.provision import export_cluster_bundle
from gateway.settings import SetupError

from .._auth import READERS, Routes
from .._config import AdminConfig
from .._http import ApiError, body

MAX_DRAIN_SECONDS = 3600  # as the CLI's --grace and --timeout


def _seconds(data: Any, name: str) -> float | None:
    value = data.integer(name, default=None)
    if value is None:
        return None
    if not 0 <= value <= MAX_DRAIN_SECONDS or (name == "timeout_seconds" and value == 0):
        raise ApiError(400, "gateway.admin.bad_field",
                       f"field {name!r} must be between {1 if name == 'timeout_seconds' else 0} and {MAX_DRAIN_SECONDS}")
    return float(value)


def cluster_blueprint(config: AdminConfig) -> Blueprint:
    api = Routes("cluster", __name__, config.conf)

    def directory() -> Any:
        if config.directory is None:
            raise ApiError(404, "gateway.admin.no_directory", "this admin API serves no gateway directory")
        return config.directory

    def node(what: Any) -> Any:
        if what is None:
            raise ApiError(409, "gateway.admin.no_node", "this admin API runs without a node to drain")
        return what

    @api.route("GET", "/api/v1/drain", *READERS)
    def show_drain() -> Any:
        return jsonify(node(config.node_status)()["drain"])

    @api.route("POST", "/api/v1/drain", "admin")
    def post_drain() -> Any:
        from flask import request

        data = body() if request.content_length else None
        grace, timeout = (None, None) if data is None else (_seconds(data, "grace_seconds"),
                                                            _seconds(data, "timeout_seconds"))
        try:
            state = node(config.drain)(grace, timeout)
        except SetupError as exc:
            raise ApiError(409, exc.code, exc.message) from exc
        return jsonify(state), 202

    @api.route("POST", "/api/v1/cluster/bundle", "admin")
    def post_bundle() -> Any:
        passphrase = body().text("passphrase")
        if len(passphrase) < 8:
            raise ApiError(400, "gateway.admin.bad_field", "field 'passphrase' must have at least 8 characters: "
                           "it seals the gateway's keys")
        try:
            bundle = export_cluster_bundle(directory(), passphrase)
        except SetupError as exc:
            raise ApiError(409, exc.code, exc.message) from exc
        return Response(bundle, content_type="application/octet-stream",
                        headers={"Content-Disposition": 'attachment; filename="cluster.bundle"'})

    return api.blueprint
