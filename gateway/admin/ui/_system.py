"""The gateway as a whole: its anchor (installed after a fingerprint check), its settings, a backup.

* **Anchor**: the uploaded file's SHA-224 fingerprint is shown first, beside the
  instance it names, to compare with the one the authority published; only the
  confirmed upload goes to ``POST /api/v1/anchor``, which verifies it against a
  configuration downloaded from its sources before it replaces ``anchor.xml``.
* **Settings** (federation and the rest of ``gateway.json``) through
  ``PATCH /api/v1/settings``: the answer says which changes need a restart.
* **Backup** through ``POST /api/v1/backup``, streamed to the browser as it is made.

The security officer and the system administrator install anchors (X-Road leaves it
to both); settings and backups are the system administrator's.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Response, request

from federation.anchor import anchor_fingerprint, parse_anchor
from trust.errors import SildError

from .._config import AdminConfig
from ._api import ApiFailure
from ._pages import ANYONE, PREFIX, SECURITY, SYSTEM
from ._web import UiState, action, api, current, done, page, render

MAX_ANCHOR = 1024 * 1024
ANCHOR_ROLES = SECURITY + SYSTEM


def _anchor_page(state: UiState, error: Any = None, status: int = 200, upload: dict[str, Any] | None = None) -> Any:
    anchor = None
    try:
        anchor = api("GET", "/api/v1/anchor").json
    except ApiFailure as exc:
        if exc.status != 404 and error is None and exc.code != "federation.conf.anchor_invalid":
            error = exc
    roles = current().user.roles
    return render(state, "gwui/anchor.html", "Anchor", status=status, error=error, anchor=anchor, upload=upload,
                  may_install=any(r in roles for r in ANCHOR_ROLES))


def register(bp: Blueprint, state: UiState, config: AdminConfig) -> None:
    @page(bp, state, "/anchor", ANYONE)
    def anchor() -> Any:
        return _anchor_page(state)

    @action(bp, state, "/anchor/check", ANCHOR_ROLES)
    def check_anchor() -> Any:
        upload = request.files.get("anchor")
        data = upload.read(MAX_ANCHOR + 1) if upload is not None else b""
        if not data or len(data) > MAX_ANCHOR:
            return _anchor_page(state, ApiFailure(400, "gateway.admin.ui.no_anchor",
                                                  "choose the anchor file (XML, at most 1 MiB)"), 400)
        try:
            parsed = parse_anchor(data)
        except SildError as exc:  # not an anchor: the parser's code and reason
            return _anchor_page(state, exc, 422)
        return _anchor_page(state, upload={
            "instance": parsed.instance, "fingerprint": anchor_fingerprint(data),
            "sources": [s.download_url for s in parsed.sources], "data": base64.b64encode(data).decode("ascii")})

    @action(bp, state, "/anchor/install", ANCHOR_ROLES)
    def install_anchor() -> Any:
        try:
            data = base64.b64decode(request.form.get("data", ""), validate=True)
        except (binascii.Error, ValueError):
            data = b""
        if not data or request.form.get("confirmed") != "yes":
            return _anchor_page(state, ApiFailure(400, "gateway.admin.ui.no_anchor",
                                                  "upload the anchor again and confirm its fingerprint"), 400)
        try:
            check = api("POST", "/api/v1/anchor", raw=data, content_type="application/xml").json
        except ApiFailure as exc:
            return _anchor_page(state, exc, exc.status)
        what = "was already in use" if check.get("unchanged") else "is installed; the gateway downloads with it now"
        return done(f"{PREFIX}/anchor", f"The anchor of {check['instance']} ({check['fingerprint']}) {what}.")

    _register_settings(bp, state)


def _settings_page(state: UiState, error: Any = None, status: int = 200, form: dict[str, str] | None = None) -> Any:
    settings: dict[str, Any] = {}
    try:
        settings = api("GET", "/api/v1/settings").json
    except ApiFailure as exc:
        error = error or exc
    shown = {k: v for k, v in settings.items() if k != "registration"}
    return render(state, "gwui/settings.html", "Settings", status=status, error=error, settings=shown,
                  form=form or {}, may_change="system-administrator" in current().user.roles)


def _register_settings(bp: Blueprint, state: UiState) -> None:
    @page(bp, state, "/settings", ANYONE)
    def settings() -> Any:
        return _settings_page(state)

    @action(bp, state, "/settings", SYSTEM)
    def change_setting() -> Any:
        name, value = request.form.get("name", ""), request.form.get("value", "").strip()
        try:
            answer = api("PATCH", "/api/v1/settings", body={name: value}).json
        except ApiFailure as exc:
            return _settings_page(state, exc, exc.status, dict(request.form))
        later = answer.get("restart_required") or []
        when = f"takes effect at the next restart ({', '.join(later)})" if later else "is in effect now"
        return done(f"{PREFIX}/settings", f"Setting {name} changed to {value!r}; it {when}.")

    @page(bp, state, "/backup", SYSTEM)
    def backup_page() -> Any:
        return render(state, "gwui/backup.html", "Backup")

    @action(bp, state, "/backup", SYSTEM)
    def backup() -> Any:
        passphrase = request.form.get("passphrase", "")
        try:
            answer = api("POST", "/api/v1/backup", body={"passphrase": passphrase} if passphrase else None,
                         stream=True)
        except ApiFailure as exc:
            return render(state, "gwui/backup.html", "Backup", status=exc.status, error=exc)
        assert answer.chunks is not None
        headers = {k: v for k, v in answer.headers.items() if k in ("Content-Length", "Content-Disposition")}
        return Response(answer.chunks, content_type=answer.headers.get("Content-Type"), headers=headers)
