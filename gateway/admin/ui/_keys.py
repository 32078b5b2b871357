"""Tokens, keys and certificates: the security officer's page.

Add a PKCS#11 token, log in to a token with its PIN, generate a key, download its
certificate request, import the certificate, activate, disable, delete; on
``/api/v1/tokens``, ``/api/v1/keys`` and ``/api/v1/certificates`` (the functions
``sild gateway token|key|cert`` call). Each certificate shows its OCSP status as the
node last fetched it. A PIN travels only in the login form's POST and into the API
call's body, where the audit log redacts it; a refused PIN is never sent back.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from flask import Blueprint, Response, request

from .._config import AdminConfig
from ._api import ApiFailure
from ._pages import ANYONE, PREFIX, SECURITY
from ._web import UiState, action, api, confirm_first, current, done, page, render

MAX_CERTIFICATE = 64 * 1024
USAGES = (("sign", "Signing (messages)"), ("auth", "Authentication (TLS between gateways)"))
KEY_TYPES = (("rsa2048", "RSA 2048"), ("rsa3072", "RSA 3072"), ("ec-p256", "ECDSA P-256"))
BACK = f"{PREFIX}/keys"


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _show(state: UiState, error: Any = None, status: int = 200, form: dict[str, str] | None = None) -> Any:
    tokens: list[dict[str, Any]] = []
    try:
        tokens = api("GET", "/api/v1/tokens").json["tokens"]
    except ApiFailure as exc:
        error = error or exc
    return render(state, "gwui/keys.html", "Keys and certificates", status=status, error=error, tokens=tokens,
                  form=form or {}, usages=USAGES, key_types=KEY_TYPES,
                  may_change="security-officer" in current().user.roles)


def _attempt(state: UiState, method: str, path: str, notice: str, **kwargs: Any) -> Any:
    try:
        api(method, path, **kwargs)
    except ApiFailure as exc:
        return _show(state, exc, exc.status, {k: v for k, v in request.form.items() if k != "pin"})
    return done(BACK, notice)


def register(bp: Blueprint, state: UiState, config: AdminConfig) -> None:
    @page(bp, state, "/keys", ANYONE)
    def keys() -> Any:
        return _show(state)

    @action(bp, state, "/tokens/add", SECURITY)
    def add_token() -> Any:
        form = request.form
        body = {"name": form.get("token_name", "").strip(), "library": form.get("token_library", "").strip(),
                "label": form.get("token_label", "").strip()}
        return _attempt(state, "POST", "/api/v1/tokens", f"Token {body['name']} added; log in to it with its PIN.",
                        body=body)

    @action(bp, state, "/tokens/<name>/login", SECURITY)
    def token_login(name: str) -> Any:
        return _attempt(state, "POST", f"/api/v1/tokens/{_q(name)}/login", f"Logged in to token {name}.",
                        body={"pin": request.form.get("pin", "")})

    @action(bp, state, "/tokens/<name>/logout", SECURITY)
    def token_logout(name: str) -> Any:
        return _attempt(state, "POST", f"/api/v1/tokens/{_q(name)}/logout", f"Logged out of token {name}.")

    @action(bp, state, "/keys/generate", SECURITY)
    def generate() -> Any:
        form = request.form
        body = {"token": form.get("token", "soft"), "usage": form.get("usage", "sign"),
                "type": form.get("type", "rsa2048"), "label": form.get("label", "").strip()}
        if form.get("member", "").strip():
            body["member"] = form["member"].strip()
        try:
            key = api("POST", "/api/v1/keys", body=body).json["key"]
        except ApiFailure as exc:
            return _show(state, exc, exc.status, dict(form))
        return done(BACK, f"Key {key['id']} generated ({key['usage']}, {key['algorithm']}); "
                          "download its certificate request below.")

    @action(bp, state, "/keys/<key_id>/csr", SECURITY)
    def csr(key_id: str) -> Any:
        member = request.form.get("member", "").strip()
        try:
            answer = api("POST", f"/api/v1/keys/{_q(key_id)}/csr", body={"member": member} if member else {})
        except ApiFailure as exc:
            return _show(state, exc, exc.status)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key_id)[:80]
        return Response(answer.json["csr"], content_type="application/pkcs10",
                        headers={"Content-Disposition": f'attachment; filename="{safe}.csr.pem"'})

    _register_certificates(bp, state)


def _register_certificates(bp: Blueprint, state: UiState) -> None:
    @action(bp, state, "/certificates/import", SECURITY)
    def import_certificate() -> Any:
        upload = request.files.get("certificate")
        data = upload.read(MAX_CERTIFICATE + 1) if upload is not None else b""
        if not data:
            data = request.form.get("pem", "").encode("utf-8")
        if not data or len(data) > MAX_CERTIFICATE:
            return _show(state, ApiFailure(400, "gateway.admin.ui.no_certificate",
                                           "choose a certificate file (PEM or DER, at most 64 KiB) or paste its "
                                           "PEM text"), 400)
        return _attempt(state, "POST", "/api/v1/certificates", "Certificate imported.", raw=data,
                        content_type="application/octet-stream")

    @action(bp, state, "/keys/<item_id>/<verb>", SECURITY)
    def key_change(item_id: str, verb: str) -> Any:
        return change("keys", item_id, verb)

    @action(bp, state, "/certificates/<item_id>/<verb>", SECURITY)
    def certificate_change(item_id: str, verb: str) -> Any:
        return change("certificates", item_id, verb)

    def change(kind: str, item_id: str, verb: str) -> Any:
        if verb not in ("activate", "disable", "delete"):
            return _show(state, ApiFailure(404, "gateway.admin.ui.no_such_action", f"no action {verb} on {kind}"), 404)
        what = "key" if kind == "keys" else "certificate"
        if verb == "delete":
            asked = confirm_first(state, f"Delete {what} {item_id}?", f"Delete {what}", BACK,
                                  "This cannot be undone: a deleted key's signatures can no longer be made.")
            return asked or _attempt(state, "DELETE", f"/api/v1/{kind}/{_q(item_id)}",
                                     f"The {what} {item_id} was deleted.")
        now = "active" if verb == "activate" else "disabled"
        return _attempt(state, "POST", f"/api/v1/{kind}/{_q(item_id)}/{verb}", f"The {what} {item_id} is now {now}.")
