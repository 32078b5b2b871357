"""Access rights (who may call which service or REST endpoint) and what a client may call."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from trust.protocol import AnyId, ClientId

from gateway.serverconf import AccessChecker, GrantTerms, make_terms, parse_client_text, parse_instant, parse_subject

from ._auth import READERS, Routes
from ._config import AdminConfig
from ._http import body, path_client, service_json, subject_text


def _right_json(r: Any) -> dict[str, Any]:
    return {"provider": r.provider.to_text(), "service_code": r.service_code, "method": r.endpoint.method,
            "path": r.endpoint.path, "subject": subject_text(r.subject), **r.terms.as_json()}


def _terms() -> GrantTerms:
    """A grant's optional terms (issue 20): ``purposes`` (list of codes), ``valid_from`` and
    ``valid_until`` (ISO 8601 with a zone, or a date meaning 00:00 UTC); absent: X-Road's plain right."""
    data = body()
    return make_terms(data.texts("purposes", False), parse_instant(data.text("valid_from", False), "valid_from"),
                      parse_instant(data.text("valid_until", False), "valid_until"))


def _right_args() -> tuple[ClientId, str, AnyId, str, str]:
    data = body()
    return (parse_client_text(data.text("provider")), data.text("service_code"), parse_subject(data.text("subject")),
            data.text("method", False, "*"), data.text("path", False, "**"))


def rights_blueprint(config: AdminConfig) -> Blueprint:
    conf = config.conf
    api = Routes("rights", __name__, conf)

    @api.route("GET", "/api/v1/access-rights", *READERS)
    def list_rights() -> Any:
        provider = parse_client_text(request.args["client"]) if request.args.get("client") else None
        rights = conf.list_rights(provider, request.args.get("service_code") or None)
        return jsonify(access_rights=[_right_json(r) for r in rights])

    @api.route("POST", "/api/v1/access-rights", "service-admin")
    def grant() -> Any:
        provider, code, subject, method, path = _right_args()
        terms = _terms()
        conf.grant(provider, code, subject, method=method, path=path, terms=terms)
        return jsonify(provider=provider.to_text(), service_code=code, subject=subject_text(subject),
                       method=method.upper(), path=path, **terms.as_json()), 201

    @api.route("POST", "/api/v1/access-rights/revoke", "service-admin")
    def revoke() -> Any:
        provider, code, subject, method, path = _right_args()
        conf.revoke(provider, code, subject, method=method, path=path)
        return "", 204

    @api.route("GET", "/api/v1/clients/<client_id>/allowed-services", *READERS)
    def allowed(client_id: str) -> Any:
        """Which services of ``provider`` the client may call (``allowedMethods`` as seen by the admin)."""
        caller = path_client(client_id)
        provider = parse_client_text(request.args.get("provider") or "")
        checker = AccessChecker(conf.snapshot, clock=conf.now)
        return jsonify(services=[service_json(s) for s in checker.allowed_services(provider, caller)])

    return api.blueprint
