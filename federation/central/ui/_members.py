"""Members, subsystems and global groups: the registration officer's pages (everyone signed in reads them).

Each action is the call the management API's view makes (``Registry.add_member``,
``rename_member``, ``remove_subsystem`` ...), with the API's identifier readers, so a
refusal has the API's code; removals go through a confirmation page first.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from federation.central.api import client_id, member_id, subsystem_id

from ._web import REG, Ui


def _form(name: str) -> str:
    return request.form.get(name, "").strip()


def add_member_pages(ui: Ui) -> None:
    registry = ui.ctx.registry

    def members_page(**extra: Any) -> ResponseReturnValue:
        rows = [{"id": m.to_text(), "name": name, "subsystems": [{"code": c, "name": n or "", "id": m.subsystem(c).to_text()}
                                                                  for c, n in subs]}
                for m, name, subs in registry.members()]
        text = lambda r: " ".join([r["id"], r["name"], *(s["code"] for s in r["subsystems"])])  # noqa: E731
        return ui.render("central/members.html", "Members and subsystems", **ui.listing(rows, text),
                         classes=registry.member_classes(), **extra)

    @ui.route("/members")
    def members() -> ResponseReturnValue:
        return members_page()

    @ui.route("/members/add", REG, ("POST",))
    def add_member() -> ResponseReturnValue:
        def do() -> str:
            member = member_id(_form("id"))
            registry.add_member(member, _form("name"))
            return f"member {member.to_text()} added"

        return ui.act(do, members_page)

    @ui.route("/members/<path:member>/rename", REG, ("POST",))
    def rename_member(member: str) -> ResponseReturnValue:
        def do() -> str:
            registry.rename_member(member_id(member), _form("name"))
            return f"member {member} is now called {_form('name')}"

        return ui.act(do, members_page)

    @ui.route("/members/<path:member>/remove", REG, ("GET", "POST"))
    def remove_member(member: str) -> ResponseReturnValue:
        if not ui.confirmed():
            return ui.confirm(f"Remove member {member}?", [
                "Its subsystems, its gateways and its group memberships are removed with it.",
                "Gateways of the instance stop trusting it with the next configuration."], "Remove member", "members")

        def do() -> str:
            registry.remove_member(member_id(member))
            return f"member {member} removed"

        return ui.act(do, members_page)

    @ui.route("/member-classes/add", REG, ("POST",))
    def add_member_class() -> ResponseReturnValue:
        def do() -> str:
            registry.add_member_class(_form("code"), _form("description"))
            return f"member class {_form('code')} added"

        return ui.act(do, members_page)

    @ui.route("/subsystems/add", REG, ("POST",))
    def add_subsystem() -> ResponseReturnValue:
        def do() -> str:
            subsystem = subsystem_id(_form("id"))
            registry.add_subsystem(subsystem, _form("name") or None)
            return f"subsystem {subsystem.to_text()} added"

        return ui.act(do, members_page)

    @ui.route("/subsystems/<path:subsystem>/remove", REG, ("GET", "POST"))
    def remove_subsystem(subsystem: str) -> ResponseReturnValue:
        if not ui.confirmed():
            return ui.confirm(f"Remove subsystem {subsystem}?", [
                "If a gateway still serves it, the removal is refused (federation.registry.in_use): "
                "remove it from the gateway first."],
                "Remove subsystem", "members")

        def do() -> str:
            registry.remove_subsystem(subsystem_id(subsystem))
            return f"subsystem {subsystem} removed"

        return ui.act(do, members_page)

    add_group_pages(ui)


def add_group_pages(ui: Ui) -> None:
    registry = ui.ctx.registry

    def groups_page(**extra: Any) -> ResponseReturnValue:
        rows = [{"code": gr.code, "description": gr.description, "members": [m.to_text() for m in gr.members]}
                for gr in registry.snapshot().global_groups]
        return ui.render("central/groups.html", "Global groups",
                         **ui.listing(rows, lambda r: " ".join([r["code"], r["description"], *r["members"]])), **extra)

    @ui.route("/groups")
    def groups() -> ResponseReturnValue:
        return groups_page()

    @ui.route("/groups/add", REG, ("POST",))
    def add_group() -> ResponseReturnValue:
        def do() -> str:
            registry.add_global_group(_form("code"), _form("description"))
            return f"global group {_form('code')} added"

        return ui.act(do, groups_page)

    @ui.route("/groups/<code>/members/add", REG, ("POST",))
    def add_group_member(code: str) -> ResponseReturnValue:
        def do() -> str:
            client = client_id(_form("client"))
            registry.add_group_member(code, client)
            return f"{client.to_text()} added to {code}"

        return ui.act(do, groups_page)

    @ui.route("/groups/<code>/members/<path:client>/remove", REG, ("GET", "POST"))
    def remove_group_member(code: str, client: str) -> ResponseReturnValue:
        if not ui.confirmed():
            return ui.confirm(f"Remove {client} from the group {code}?", [], "Remove from group", "groups")

        def do() -> str:
            registry.remove_group_member(code, client_id(client))
            return f"{client} removed from {code}"

        return ui.act(do, groups_page)

    @ui.route("/groups/<code>/remove", REG, ("GET", "POST"))
    def remove_group(code: str) -> ResponseReturnValue:
        if not ui.confirmed():
            return ui.confirm(f"Remove the global group {code}?", ["Access rights granted to the group stop applying."],
                              "Remove group", "groups")

        def do() -> str:
            registry.remove_global_group(code)
            return f"global group {code} removed"

        return ui.act(do, groups_page)
