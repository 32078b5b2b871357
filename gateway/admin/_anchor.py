"""The configuration anchor over the admin API: ``GET /api/v1/anchor``, ``POST /api/v1/anchor``.

Why: when the authority rotates its configuration signing key, every gateway needs
the new anchor; the API is how a fleet of gateways gets it without a shell on each.
``POST`` takes the anchor file itself as the request body (``application/xml``),
verifies it the way ``sild gateway anchor install`` does
(:func:`gateway.conf.install_anchor`: an anchor of this gateway's instance whose
sources answer with a configuration signed by a certificate it names) and only then
replaces ``anchor.xml``; the running node downloads with it within seconds. A
refusal is a 422 with a one-line reason, and the anchor in use stays.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from federation.anchor import load_anchor
from federation.model import AnchorInvalid
from trust.infra import utc_now

from gateway.conf import install_anchor

from ._auth import READERS, Routes
from ._config import AdminConfig
from ._http import ApiError


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

    return api.blueprint
