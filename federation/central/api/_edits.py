"""Removals and renames in the registry: subsystems, TSAs, global groups and their members, member names.

Kept apart from the blueprints that add these objects (``_members``, ``_cas``) so that
the routes that take something away, and their refusals, are read in one place.
A removal that would leave a gateway serving a subsystem the registry no longer
knows is refused (409 ``federation.registry.in_use``, naming the gateway) unless the
request says ``?force=true``; the next generated configuration reflects every change.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ._http import REG, SEC, ApiContext, ApiError, client_id, field, json_body, member_id, subsystem_id


def _force() -> bool:
    value = request.args.get("force", "false").lower()
    if value not in ("true", "false"):
        raise ApiError("query parameter 'force' must be true or false", code="api.invalid_field")
    return value == "true"


def edits_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("edits", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    @bp.patch("/members/<path:member>")
    @requires(REG)
    def rename_member(member: str) -> Response:
        registry.rename_member(member_id(member), field(json_body(), "name"))
        return ctx.committed()

    @bp.delete("/subsystems/<path:subsystem>")
    @requires(REG)
    def remove_subsystem(subsystem: str) -> Response:
        registry.remove_subsystem(subsystem_id(subsystem), force=_force())
        return ctx.committed()

    @bp.delete("/global-groups/<code>")
    @requires(REG)
    def remove_global_group(code: str) -> Response:
        registry.remove_global_group(code)
        return ctx.committed()

    @bp.delete("/global-groups/<code>/members/<path:client>")
    @requires(REG)
    def remove_group_member(code: str, client: str) -> Response:
        registry.remove_group_member(code, client_id(client))
        return ctx.committed()

    @bp.delete("/tsas/<name>")
    @requires(SEC)
    def remove_tsa(name: str) -> Response:
        registry.remove_tsa(name)
        return ctx.committed()

    return bp
