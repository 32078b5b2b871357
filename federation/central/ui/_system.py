"""The dashboard, the published configuration, the audit log and the API keys.

The dashboard is :func:`federation.central.central_status` (``sild central status``,
``/api/v1/diagnostics``): one report, three views. The published configuration page
lists the generations kept on disk (:data:`federation.central` publishes the newest
and keeps a few before it) with links to the files gateways download. The audit log
is the one the API and the CLI write, read newest first in pages (security officers
and system administrators). API keys are the system administrator's: a new key is
shown once, on the page that made it, and backups are theirs too (the archive of
``sild central backup``, optionally encrypted; restoring stays a command, since a
running authority cannot replace its own registry).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, g, request
from flask.typing import ResponseReturnValue

from trust.backup import BackupError, backup_download
from trust.infra import entry_json

from federation.central import CENTRAL_BACKUP, VERSION, central_status
from federation.central.api import ApiError
from federation.central.registry import ROLES

from ._web import AUDIT_READERS, SETTINGS_EDITORS, SYS, Ui

GENERATION = re.compile(r"^[0-9]{14,32}$")
AUDIT_PAGE = 50


def add_system_pages(ui: Ui) -> None:
    ctx, registry = ui.ctx, ui.ctx.registry

    @ui.route("/")
    def dashboard() -> ResponseReturnValue:
        report = central_status(ctx.home, ctx.config.clock())
        return ui.render("central/dashboard.html", "Dashboard", report=report)

    @ui.route("/configuration")
    def configuration() -> ResponseReturnValue:
        report = central_status(ctx.home, ctx.config.clock())
        base = ctx.home.public_dir / f"V{VERSION}"
        folders = sorted((p for p in base.iterdir() if p.is_dir() and GENERATION.match(p.name)), reverse=True) \
            if base.is_dir() else []
        generations = [{"folder": p.name, "files": sorted(f.name for f in p.iterdir() if f.suffix == ".xml")}
                       for p in folders]
        return ui.render("central/configuration.html", "Published configuration", report=report,
                         generations=generations, version=VERSION)

    @ui.route("/audit", AUDIT_READERS)
    def audit() -> ResponseReturnValue:
        raw = request.args.get("before", "")
        before = int(raw) if raw.isdigit() and int(raw) > 0 else None
        rows = [entry_json(r) for r in ui.audit.entries(before=before, limit=AUDIT_PAGE)]
        for row in rows:
            row["params"] = json.dumps(row["params"], sort_keys=True)
        return ui.render("central/audit.html", "Audit log", rows=rows,
                         next_before=rows[-1]["id"] if len(rows) == AUDIT_PAGE else None)

    def keys_page(**extra: Any) -> ResponseReturnValue:
        keys = [{"name": k.name, "roles": ", ".join(k.roles), "created": k.created_at.isoformat(timespec="seconds"),
                 "revoked": k.revoked} for k in registry.api_keys()]
        return ui.render("central/api_keys.html", "API keys", keys=keys, roles=ROLES, **extra)

    @ui.route("/api-keys", SYS)
    def api_keys() -> ResponseReturnValue:
        return keys_page()

    @ui.route("/api-keys/add", SYS, ("POST",))
    def add_api_key() -> ResponseReturnValue:
        created: dict[str, str] = {}

        def do() -> str:
            name = request.form.get("name", "").strip()
            created["key"] = registry.create_api_key(name, request.form.getlist("roles"))
            return f"API key {name} created; copy it now, it is not shown again"

        return ui.act(do, lambda **extra: keys_page(new_key=created.get("key"), **extra))

    @ui.route("/api-keys/<name>/revoke", SYS, ("GET", "POST"))
    def revoke_api_key(name: str) -> ResponseReturnValue:
        if not ui.confirmed():
            return ui.confirm(f"Revoke the API key {name}?", ["Whatever uses it is refused from now on."],
                              "Revoke key", "api-keys")

        def do() -> str:
            registry.revoke_api_key(name)
            return f"API key {name} revoked"

        return ui.act(do, keys_page)

    add_admin_pages(ui)


def add_admin_pages(ui: Ui) -> None:
    ctx, registry = ui.ctx, ui.ctx.registry

    def settings_page(**extra: Any) -> ResponseReturnValue:
        return ui.render("central/settings.html", "Settings", settings=registry.settings(), **extra)

    @ui.route("/settings")
    def settings() -> ResponseReturnValue:
        return settings_page()

    @ui.route("/settings", SETTINGS_EDITORS, ("POST",), endpoint="set_settings")
    def set_settings() -> ResponseReturnValue:
        """The changed values only, all or nothing (``Registry.set_settings``, as ``PATCH /api/v1/settings``)."""
        def do() -> str:
            current = registry.settings()
            changed: dict[str, str | int] = {
                name[2:]: value.strip() for name, value in request.form.items()
                if name.startswith("s-") and current.get(name[2:]) != value.strip()}
            new = request.form.get("new_name", "").strip()
            if new:
                changed[new] = request.form.get("new_value", "").strip()
            if not changed:
                raise ApiError("nothing was changed", code="api.missing_field")
            registry.set_settings(changed)
            return f"changed: {', '.join(sorted(changed))}"

        return ui.act(do, settings_page)

    def backup_page(**extra: Any) -> ResponseReturnValue:
        return ui.render("central/backup.html", "Backup", directory=str(ctx.home.path), **extra)

    @ui.route("/backup", SYS, ("GET", "POST"))
    def backup() -> ResponseReturnValue:
        """The archive ``POST /api/v1/backup`` answers (the same call), as a download; restoring is the CLI's."""
        if request.method == "GET":
            return backup_page()
        passphrase = request.form.get("passphrase") or None
        try:
            download = backup_download(ctx.home.path, CENTRAL_BACKUP, passphrase=passphrase)
        except BackupError as exc:
            g.ui_outcome = exc.code
            return backup_page(error=exc)
        return Response(download.chunks, content_type=download.content_type, headers={
            "Content-Length": str(download.size),
            "Content-Disposition": f'attachment; filename="{download.filename}"'})
