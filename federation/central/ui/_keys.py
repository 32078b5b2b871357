"""Configuration signing keys, this instance's anchors and the trusted anchors of federated instances.

The security officer's pages. Creating and activating a key are the management API's
calls (:func:`federation.central.registry.create_signing_key`,
``Registry.activate_signing_key``); this instance's anchors are offered for download
with their SHA-224 fingerprint shown, as operators read it out to each other.

Adding a partner's anchor takes two steps, as X-Road's UI does: the uploaded file's
fingerprint is shown (and compared with the one the partner gave, when typed in) and
the officer confirms it; only then is the anchor verified against the partner's
configuration and trusted (:func:`federation.central.registry.add_trusted_anchor`).
The file travels from the first step to the second in a hidden field, so nothing is
stored before the confirmation.
"""

from __future__ import annotations

import base64
import datetime as dt
import binascii
from typing import Any

from flask import Response, g, request
from flask.typing import ResponseReturnValue

from trust.errors import SildError

from federation.anchor import anchor_fingerprint, check_fingerprint, parse_anchor
from federation.central.api import ApiError
from federation.central.registry import add_trusted_anchor, build_anchor, create_signing_key

from ._cas import upload
from ._web import SEC, Ui

KINDS = ("internal", "external")
ANCHOR_LINK_AGE = 24 * 3600  # seconds a download link keeps its moment (older: the file is made anew)


def _moment(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
MAX_ANCHOR_FORM = 256 * 1024


def add_key_pages(ui: Ui) -> None:
    ctx, registry = ui.ctx, ui.ctx.registry

    def own_anchors() -> list[dict[str, str]]:
        """Both anchors with their fingerprints, and links that download exactly the files shown.

        An anchor carries the time it was made, so the page fixes one moment and the
        download link repeats it: the file's fingerprint is the one on the page.
        """
        at = int(ctx.config.clock().timestamp())
        out = []
        for kind in KINDS:
            try:
                data = build_anchor(ctx.home, internal=kind == "internal", now=_moment(at))
                out.append({"kind": kind, "fingerprint": anchor_fingerprint(data), "at": str(at)})
            except SildError as exc:
                out.append({"kind": kind, "fingerprint": f"not available: {exc} [{exc.code}]", "at": ""})
        return out

    def keys_page(**extra: Any) -> ResponseReturnValue:
        keys = [{"id": k, "kind": kind, "status": st} for k, kind, st, _ in registry.signing_keys()]
        return ui.render("central/keys.html", "Configuration signing keys", keys=keys, anchors=own_anchors(), **extra)

    @ui.route("/keys")
    def keys() -> ResponseReturnValue:
        return keys_page()

    @ui.route("/keys/add", SEC, ("POST",))
    def add_key() -> ResponseReturnValue:
        def do() -> str:
            kind = request.form.get("kind", "")
            if kind not in KINDS:
                raise ApiError("kind must be internal or external", code="api.invalid_field")
            key_id = create_signing_key(registry, ctx.home.token(), kind, now=ctx.config.clock(), activate=False)
            return f"{kind} signing key {key_id} created; it is announced in the configuration before you activate it"

        return ui.act(do, keys_page)

    @ui.route("/keys/<key_id>/activate", SEC, ("POST",))
    def activate_key(key_id: str) -> ResponseReturnValue:
        def do() -> str:
            registry.activate_signing_key(key_id)
            return f"{key_id} now signs the configuration; give the new anchor (below) to every gateway operator"

        return ui.act(do, keys_page)

    @ui.route("/anchors/own/<kind>")
    def download_anchor(kind: str) -> ResponseReturnValue:
        if kind not in KINDS:
            return ui.refuse(404, "api.invalid_field", "anchor kind must be internal or external")
        now = ctx.config.clock()
        raw = request.args.get("at", "")
        at = int(raw) if raw.isdigit() and abs(now.timestamp() - int(raw)) <= ANCHOR_LINK_AGE else int(now.timestamp())
        data = build_anchor(ctx.home, internal=kind == "internal", now=_moment(at))
        return Response(data, content_type="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{ui.instance}-{kind}-anchor.xml"',
            "X-Anchor-Fingerprint": anchor_fingerprint(data)})

    add_trusted_anchor_pages(ui)


def add_trusted_anchor_pages(ui: Ui) -> None:
    ctx, registry = ui.ctx, ui.ctx.registry

    def anchors_page(**extra: Any) -> ResponseReturnValue:
        rows = [{"instance": i, "fingerprint": anchor_fingerprint(raw), "added": at.isoformat(timespec="seconds")}
                for i, raw, _, at in registry.trusted_anchors()]
        return ui.render("central/anchors.html", "Trusted anchors of federated instances", rows=rows, **extra)

    @ui.route("/anchors")
    def anchors() -> ResponseReturnValue:
        return anchors_page()

    @ui.route("/anchors/add", SEC, ("POST",))
    def add_anchor() -> ResponseReturnValue:
        if request.form.get("confirmed") != "yes":  # step 1: show the uploaded file's fingerprint
            data = upload("anchor") or b""
            try:
                anchor = parse_anchor(data)
                expected = request.form.get("expected", "").strip()
                if expected:
                    check_fingerprint(data, expected)
            except SildError as exc:
                g.ui_outcome = exc.code
                return anchors_page(error=exc)
            return ui.render("central/anchor_confirm.html", "Confirm the anchor's fingerprint", instance=anchor.instance,
                             fingerprint=anchor_fingerprint(data), expected=expected,
                             sources=[s.download_url for s in anchor.sources],
                             content=base64.b64encode(data).decode("ascii"))

        def do() -> str:  # step 2: the officer confirmed the fingerprint
            try:
                data = base64.b64decode(request.form.get("content", "")[:MAX_ANCHOR_FORM], validate=True)
            except (binascii.Error, ValueError):
                raise ApiError("the anchor did not come back from the confirmation page", code="api.invalid_field") from None
            g.ui_audit_params = {"anchor_sha224": anchor_fingerprint(data)}  # recorded instead of the file
            fingerprint = add_trusted_anchor(ctx.home, data, now=ctx.config.clock())
            return f"anchor of {parse_anchor(data).instance} trusted; SHA-224 fingerprint {fingerprint}"

        return ui.act(do, anchors_page)

    @ui.route("/anchors/<instance>/remove", SEC, ("GET", "POST"))
    def remove_anchor(instance: str) -> ResponseReturnValue:
        if not ui.confirmed():
            return ui.confirm(f"Stop trusting the instance {instance}?", [
                "Gateways stop accepting its members' messages with the next configuration."], "Remove anchor", "anchors")

        def do() -> str:
            registry.remove_trusted_anchor(instance)
            return f"trusted anchor of {instance} removed"

        return ui.act(do, anchors_page)

