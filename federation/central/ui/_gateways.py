"""Gateways and their registration and management requests: the registration officer's pages.

A request's page shows its signatures as verified: the stored document (the bytes the
gateway sent) is checked again with :func:`federation.central.verify_registration_request`
as of the moment it was received, against the CAs approved now, and the page names
each signing certificate. A request whose check fails now (its CA was removed since)
says so with the error code before anyone approves it. Approving and declining are
:func:`federation.central.registry.decide`, the management API's call, with the UI
user as the decider.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography import x509
from flask import g, request
from flask.typing import ResponseReturnValue

from trust.errors import SildError

from federation.central import verify_registration_request
from federation.central.api import server_id
from federation.central.registry import decide, list_requests, request_document
from federation.model import SharedParameters

from ._web import REG, Problem, Ui

STATUSES = ("submitted", "approved", "declined")


def _subject(der_b64: object) -> str:
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(str(der_b64)))
    except (ValueError, TypeError):
        return "(unreadable certificate)"
    return f"{cert.subject.rfc4514_string()}, issued by {cert.issuer.rfc4514_string()}, serial {cert.serial_number:x}"


def signatures(ui: Ui, document: bytes, received_at: Any) -> dict[str, Any]:
    """The request's signatures as the page shows them: verified or the refusal, and whose certificates."""
    snap = ui.ctx.registry.snapshot()
    policy = SharedParameters(instance=snap.instance, approved_cas=snap.approved_cas,
                              ocsp_freshness_seconds=snap.setting_int("ocspFreshnessSeconds")).to_trust_policy()
    try:
        verify_registration_request(document, policy, at=received_at)
        problem = None
    except SildError as exc:
        problem = Problem(exc.code, str(exc))
    signers: list[tuple[str, str]] = []
    try:
        outer = json.loads(document)
        payload = json.loads(base64.b64decode(str(outer["payload"])))
        signers.append(("Owner's sign certificate", _subject(outer["ownerSignature"]["certificate"])))
        for name, value in outer.items():
            if name.endswith("Signature") and name not in ("ownerSignature", "authSignature") and isinstance(value, dict):
                signers.append((f"{name} certificate", _subject(value.get("certificate"))))
        signers.append(("Authentication certificate", _subject(payload["authCertificate"])))
    except (ValueError, KeyError, TypeError):
        signers.append(("Document", "not readable"))
    return {"verified": problem is None, "problem": problem, "signers": signers}


def add_gateway_pages(ui: Ui) -> None:
    registry = ui.ctx.registry

    def gateways_page(**extra: Any) -> ResponseReturnValue:
        rows = registry.gateways()
        text = lambda r: " ".join([str(r["id"]), str(r["address"] or ""), *map(str, r["clients"])])  # noqa: E731
        return ui.render("central/gateways.html", "Gateways", **ui.listing(rows, text), **extra)

    @ui.route("/gateways")
    def gateways() -> ResponseReturnValue:
        return gateways_page()

    @ui.route("/gateways/<path:server>/remove", REG, ("GET", "POST"))
    def remove_gateway(server: str) -> ResponseReturnValue:
        if not ui.confirmed():
            return ui.confirm(f"Remove gateway {server}?", [
                "Its authentication certificates stop being accepted with the next configuration."],
                "Remove gateway", "gateways")

        def do() -> str:
            registry.remove_gateway(server_id(server))
            return f"gateway {server} removed"

        return ui.act(do, gateways_page)

    @ui.route("/gateways/<path:server>/maintenance", REG, ("POST",))
    def maintenance(server: str) -> ResponseReturnValue:
        def do() -> str:
            enabled = request.form.get("enabled") == "yes"
            registry.set_maintenance(server_id(server), enabled, request.form.get("message", "").strip() or None)
            return f"gateway {server} is {'in' if enabled else 'out of'} maintenance mode"

        return ui.act(do, gateways_page)

    def requests_page(**extra: Any) -> ResponseReturnValue:
        status = request.args.get("status", "submitted")
        rows = [r.to_json() for r in list_requests(registry, status if status in STATUSES else None)]
        text = lambda r: " ".join([str(r["server"]), str(r["type"]), *map(str, r["clients"])])  # noqa: E731
        listing = ui.listing(list(reversed(rows)), text)
        listing["base"] = f"{listing['base'][:-6]}&status={status}&page="
        return ui.render("central/requests.html", "Registration and management requests", shown=status,
                         statuses=STATUSES, **listing, **extra)

    @ui.route("/requests")
    def requests() -> ResponseReturnValue:
        return requests_page()

    def request_page(request_id: int, **extra: Any) -> ResponseReturnValue:
        try:
            info, document = request_document(registry, request_id)
        except SildError as exc:
            return ui.refuse(404, exc.code, str(exc))
        return ui.render("central/request.html", f"Request {request_id}", info=info.to_json(),
                         outcome=info.outcome(), check=signatures(ui, document, info.received_at), **extra)

    @ui.route("/requests/<int:request_id>")
    def show_request(request_id: int) -> ResponseReturnValue:
        return request_page(request_id)

    @ui.route("/requests/<int:request_id>/<action>", REG, ("POST",))
    def decide_request(request_id: int, action: str) -> ResponseReturnValue:
        if action not in ("approve", "decline"):
            return ui.refuse(404, "api.invalid_field", "action must be approve or decline")

        def do() -> str:
            comment = request.form.get("comment", "").strip() or None
            info = decide(registry, request_id, approve=action == "approve", by=g.ui_session.user.name,
                          comment=comment)
            return info.outcome() if action == "approve" else f"request {request_id} declined"

        return ui.act(do, lambda **extra: request_page(request_id, **extra))
