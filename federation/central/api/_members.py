"""Member classes, members, subsystems and global groups (``registration-officer``)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response

from ._http import REG, ApiContext, client_id, done, field, json_body, member_id, subsystem_id


def members_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("members", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    @bp.get("/member-classes")
    @requires()
    def member_classes() -> Response:
        return done([{"code": c, "description": d} for c, d in registry.member_classes()])

    def add_coded(path: str, add: Callable[[str, str], None]) -> None:
        """``POST path {code, description?}``: a new member class or global group."""

        @bp.post(path, endpoint=add.__name__)
        @requires(REG)
        def add_code() -> Response:
            data = json_body()
            add(field(data, "code"), field(data, "description", required=False, default=""))
            return ctx.committed(status=201)

    add_coded("/member-classes", registry.add_member_class)

    @bp.get("/members")
    @requires()
    def members() -> Response:
        return done([
            {"id": m.to_text(), "name": name, "subsystems": [{"code": c, "name": n} for c, n in subs]}
            for m, name, subs in registry.members()
        ])

    @bp.post("/members")
    @requires(REG)
    def add_member() -> Response:
        data = json_body()
        registry.add_member(member_id(field(data, "id")), field(data, "name"))
        return ctx.committed(status=201)

    @bp.delete("/members/<path:member>")
    @requires(REG)
    def remove_member(member: str) -> Response:
        registry.remove_member(member_id(member))
        return ctx.committed()

    @bp.post("/subsystems")
    @requires(REG)
    def add_subsystem() -> Response:
        data = json_body()
        registry.add_subsystem(subsystem_id(field(data, "id")), field(data, "name", required=False))
        return ctx.committed(status=201)

    @bp.get("/global-groups")
    @requires()
    def global_groups() -> Response:
        snap = registry.snapshot()
        return done([{"code": gr.code, "description": gr.description, "members": [m.to_text() for m in gr.members]}
                     for gr in snap.global_groups])

    add_coded("/global-groups", registry.add_global_group)

    @bp.post("/global-groups/<code>/members")
    @requires(REG)
    def add_group_member(code: str) -> Response:
        data = json_body()
        registry.add_group_member(code, client_id(field(data, "client")))
        return ctx.committed(status=201)

    return bp
