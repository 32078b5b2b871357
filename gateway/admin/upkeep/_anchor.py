"""The files a running node follows, over the admin API: its anchor and its settings.

``GET``/``POST /api/v1/anchor``, ``GET``/``PATCH /api/v1/settings``.

Why: when the authority rotates its configuration signing key, every gateway needs
the new anchor; the API is how a fleet of gateways gets it without a shell on each.
``POST`` takes the anchor file itself as the request body (``application/xml``),
verifies it the way ``sild gateway anchor install`` does
(:func:`gateway.conf.install_anchor`: an anchor of this gateway's instance whose
sources answer with a configuration signed by a certificate it names) and only then
replaces ``anchor.xml``; the running node downloads with it within seconds. A
refusal is a 422 with a one-line reason, and the anchor in use stays.

``PATCH /api/v1/settings`` changes ``gateway.json`` as ``sild gateway set`` does
(:func:`gateway.settings.with_changes`: validated, written atomically); the answer
names the settings that take effect only at the next restart
(``restart_required``), the running node follows the others within seconds.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from federation.anchor import load_anchor
from federation.model import AnchorInvalid
from trust.errors import SildError
from trust.infra import utc_now

from gateway.conf import install_anchor
from gateway.settings import NodeSettings, SetupError, federations_text, restart_only, with_changes

from .._auth import READERS, Routes
from .._config import AdminConfig
from .._http import ApiError


def anchor_blueprint(config: AdminConfig) -> Blueprint:
    api = Routes("anchor", __name__, config.conf)

    def directory() -> Any:
        if config.directory is None:
            raise ApiError(404, "gateway.admin.no_directory", "this admin API serves no gateway directory")
        return config.directory

    @api.route("GET", "/api/v1/anchor", *READERS)
    def show_anchor() -> Any:
        anchor = load_anchor(directory() / "anchor.xml")
        return jsonify(instance=anchor.anchor.instance, fingerprint=anchor.fingerprint,
                       sources=[s.download_url for s in anchor.anchor.sources])

    @api.route("POST", "/api/v1/anchor", "admin")
    def post_anchor() -> Any:
        data = request.get_data(cache=False)
        if not data:
            raise ApiError(400, "gateway.admin.no_body", "send the anchor file as the request body (application/xml)")
        clock = config.clock or utc_now
        try:
            check = install_anchor(directory(), data, at=clock())
        except AnchorInvalid as exc:
            raise ApiError(422, exc.code, exc.message) from exc
        return jsonify(check.to_json())

    def settings_json(settings: NodeSettings) -> dict[str, Any]:
        data = dict(settings.__dict__)
        data["allowed_federations"] = federations_text(settings.allowed_federations)
        return data

    @api.route("GET", "/api/v1/settings", *READERS)
    def show_settings() -> Any:
        return jsonify(settings_json(NodeSettings.load(directory())))

    @api.route("PATCH", "/api/v1/settings", "admin")
    def patch_settings() -> Any:
        changes = request.get_json(silent=True)
        if not isinstance(changes, dict) or not changes:
            raise ApiError(400, "gateway.admin.bad_body", "send a JSON object of settings to change, e.g. "
                           '{"allowed_federations": "FI"}')
        before = NodeSettings.load(directory())
        try:
            after = with_changes(before, changes)
        except SetupError as exc:
            raise ApiError(400, exc.code, exc.message) from exc
        if config.timestamping is not None:  # a TSA the configuration does not approve, as PUT refuses it
            try:
                config.timestamping.check_settings(changes)
            except SildError as exc:
                raise ApiError(422, exc.code, exc.message) from exc
        after.save(directory())
        return jsonify(settings=settings_json(after), changed=sorted(changes),
                       restart_required=restart_only(before, after))

    return api.blueprint
