"""The instance as a whole: its status (registry serial, what is published), its diagnostics
(:mod:`federation.central._status`, the report of ``sild central status``) and global settings."""

from __future__ import annotations

from flask import Blueprint, Response

from ._http import SEC, ApiContext, ApiError, done, json_body


def settings_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("settings", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    @bp.get("/status")
    @requires()
    def status() -> Response:
        from federation.central import read_state

        info = registry.info()
        return done({"instance": info.instance, "serial": info.serial, "changedAt": info.changed_at.isoformat(),
                     "published": read_state(ctx.home.public_dir)})

    @bp.get("/diagnostics")
    @requires()
    def diagnostics() -> Response:
        from federation.central import central_status

        return done(central_status(ctx.home, ctx.config.clock()))

    @bp.get("/settings")
    @requires()
    def settings() -> Response:
        return done(registry.settings())

    @bp.patch("/settings")
    @requires(SEC)
    def set_settings() -> Response:
        data = json_body()
        if not data:
            raise ApiError("give at least one setting", code="api.missing_field")
        for name, value in data.items():
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise ApiError(f"setting {name!r} must be a string or an integer", code="api.invalid_field")
        registry.set_settings(data)  # all or nothing
        ctx.changed()
        return done(registry.settings())

    return bp
