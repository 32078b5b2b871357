"""Certification authorities with their OCSP responders, and timestamping services: the security officer's pages.

Certificates are uploaded as files (PEM or DER, as the management API takes them);
adding and removing are the registry calls the API's views make (``add_ca``,
``remove_ca``, ``add_tsa``, ``remove_tsa``), so a bad certificate is refused with the
same code.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from trust.pki import EJBCA_PROFILE

from ._web import SEC, Ui

MAX_CERT_BYTES = 64 * 1024


def upload(name: str) -> bytes | None:
    """An uploaded file's bytes (None when no file was chosen); a certificate is small, so larger is refused."""
    file = request.files.get(name)
    if file is None or not file.filename:
        return None
    return bytes(file.read(MAX_CERT_BYTES + 1))  # a larger file is no certificate: the registry refuses it


def add_ca_pages(ui: Ui) -> None:
    registry = ui.ctx.registry

    def cas_page(**extra: Any) -> ResponseReturnValue:
        rows = registry.cas()
        return ui.render("central/cas.html", "Certification authorities and OCSP responders",
                         **ui.listing(rows, lambda r: f"{r['name']} {' '.join(map(str, r['ocsp']))}"),
                         default_profile=EJBCA_PROFILE, **extra)

    @ui.route("/cas")
    def cas() -> ResponseReturnValue:
        return cas_page()

    @ui.route("/cas/add", SEC, ("POST",))
    def add_ca() -> ResponseReturnValue:
        def do() -> str:
            form = request.form
            url = form.get("ocsp_url", "").strip()
            ocsp = [(url, upload("ocsp_certificate"))] if url else []
            registry.add_ca(form.get("name", "").strip(), upload("certificate") or b"", ocsp=ocsp,
                            certificate_profile=form.get("profile", "").strip() or EJBCA_PROFILE,
                            authentication_only=form.get("auth_only") == "yes")
            return f"certification authority {form.get('name', '').strip()} added"

        return ui.act(do, cas_page)

    @ui.route("/cas/<name>/remove", SEC, ("GET", "POST"))
    def remove_ca(name: str) -> ResponseReturnValue:
        if not ui.confirmed():
            return ui.confirm(f"Remove the certification authority {name}?", [
                "Certificates it issued stop being accepted by every gateway with the next configuration."],
                "Remove CA", "cas")

        def do() -> str:
            registry.remove_ca(name)
            return f"certification authority {name} removed"

        return ui.act(do, cas_page)

    def tsas_page(**extra: Any) -> ResponseReturnValue:
        return ui.render("central/tsas.html", "Timestamping services",
                         **ui.listing(registry.tsas(), lambda r: f"{r['name']} {r['url']}"), **extra)

    @ui.route("/tsas")
    def tsas() -> ResponseReturnValue:
        return tsas_page()

    @ui.route("/tsas/add", SEC, ("POST",))
    def add_tsa() -> ResponseReturnValue:
        def do() -> str:
            name = request.form.get("name", "").strip()
            registry.add_tsa(name, request.form.get("url", "").strip(), upload("certificate") or b"")
            return f"timestamping service {name} added"

        return ui.act(do, tsas_page)

    @ui.route("/tsas/<name>/remove", SEC, ("GET", "POST"))
    def remove_tsa(name: str) -> ResponseReturnValue:
        if not ui.confirmed():
            return ui.confirm(f"Remove the timestamping service {name}?", [
                "Gateways stop using it with the next configuration; keep at least one."], "Remove TSA", "tsas")

        def do() -> str:
            registry.remove_tsa(name)
            return f"timestamping service {name} removed"

        return ui.act(do, tsas_page)
