"""Clients: the members and subsystems this gateway serves; add, register with the authority, delete.

Each action is the API's: ``POST /api/v1/clients`` (saved locally, as X-Road's "add
client"), ``POST /api/v1/clients/{id}/registration`` (the signed management request
to the authority), ``POST /api/v1/clients/{id}/deletion`` (the request to the
authority to remove a registered client) and ``DELETE /api/v1/clients/{id}`` (the
local configuration). Adding, registering and deleting (after a confirmation) are the
registration officer's, as are the gateway's owner change and address change
(``POST /api/v1/owner-change``, ``/api/v1/address-change``), and so is checking the
authority's decisions (``POST /api/v1/clients/sync``: nothing marks a client registered
on its own). A client's own page sets
how its information systems connect (IS authentication, their TLS certificates),
its local groups and whether message bodies are logged, through
``PATCH /api/v1/clients/{id}``, ``/api/v1/clients/{id}/certificates`` and
``/api/v1/clients/{id}/local-groups``: the service administrator's.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from flask import Blueprint, request

from trust.accounts import matching, page_number, paginate

from .._config import AdminConfig
from ._api import ApiFailure
from ._pages import ANYONE, PREFIX, REGISTRATION, SERVICES
from ._web import UiState, action, api, confirm_first, confirmed, done, page, render

IS_AUTH = (("http", "HTTP or HTTPS, no client certificate needed"), ("https", "HTTPS, no client certificate needed"),
           ("https-cert", "HTTPS with one of the client's registered IS certificates"))


def _quote(path_id: str) -> str:
    return urllib.parse.quote(path_id, safe=":")


def register(bp: Blueprint, state: UiState, config: AdminConfig) -> None:
    def listing(error: Any = None, status: int = 200, form: dict[str, str] | None = None) -> Any:
        clients: list[dict[str, Any]] = []
        try:
            clients = api("GET", "/api/v1/clients").json["clients"]
        except ApiFailure as exc:
            error = error or exc
        query = request.args.get("q", "")
        found = matching(clients, query, lambda c: f"{c['id']} {c['state']}")
        shown = paginate(found, page_number(request.args.get("page")))
        return render(state, "gwui/clients.html", "Clients", status=status, error=error, page=shown, query=query,
                      form=form or {}, is_auth=IS_AUTH, pager_base=f"?q={urllib.parse.quote(query)}&page=",
                      may_register="registration-officer" in _roles())

    @page(bp, state, "/clients", ANYONE)
    def clients() -> Any:
        return listing()

    @action(bp, state, "/clients/add", REGISTRATION)
    def add_client() -> Any:
        form = {"id": request.form.get("id", "").strip(), "is_auth": request.form.get("is_auth", "http")}
        try:
            api("POST", "/api/v1/clients", body={"id": form["id"], "is_auth": form["is_auth"]})
        except ApiFailure as exc:
            return listing(exc, exc.status, form)
        return done(f"{PREFIX}/clients", f"Client {form['id']} added (saved; register it to use it).")

    @action(bp, state, "/clients/<client_id>/register", REGISTRATION)
    def register_client(client_id: str) -> Any:
        try:
            api("POST", f"/api/v1/clients/{_quote(client_id)}/registration")
        except ApiFailure as exc:
            return listing(exc, exc.status)
        return done(f"{PREFIX}/clients", f"Registration request for {client_id} sent to the authority.")

    _register_sync(bp, state, listing)

    @action(bp, state, "/clients/<client_id>/deletion", REGISTRATION)
    def request_deletion(client_id: str) -> Any:
        asked = confirm_first(state, f"Ask the authority to remove {client_id.replace(':', '/')} from this gateway?",
                              "Send deletion request", f"{PREFIX}/clients",
                              "Once approved, the client's services are no longer reachable through this gateway.")
        if asked:
            return asked
        try:
            api("POST", f"/api/v1/clients/{_quote(client_id)}/deletion")
        except ApiFailure as exc:
            return listing(exc, exc.status)
        return done(f"{PREFIX}/clients", f"Deletion request for {client_id.replace(':', '/')} sent to the authority.")

    @page(bp, state, "/clients/<client_id>/delete", REGISTRATION, methods=("GET", "POST"))
    def delete_client(client_id: str) -> Any:
        if request.method == "GET" or not confirmed():
            return render(state, "accounts/confirm.html", "Delete client",
                          question=f"Delete client {client_id.replace(':', '/')} from this gateway?",
                          detail=["Its services, access rights and local groups are deleted with it.",
                                  "Send the authority a deletion request first if it is registered."],
                          action=f"{PREFIX}/clients/{_quote(client_id)}/delete", fields={},
                          button="Delete client", cancel_url=f"{PREFIX}/clients")
        try:
            api("DELETE", f"/api/v1/clients/{_quote(client_id)}")
        except ApiFailure as exc:
            return listing(exc, exc.status)
        return done(f"{PREFIX}/clients", f"Client {client_id.replace(':', '/')} deleted.")

    @action(bp, state, "/gateway/<change>", REGISTRATION)
    def gateway_change(change: str) -> Any:
        """The gateway's own registration, X-Road's owner change and address change: requests the authority approves."""
        fields = {"owner-change": "member", "address-change": "address", "registration": "authority"}
        if change not in fields:
            return listing(ApiFailure(404, "gateway.admin.ui.no_such_action", f"no request {change}"), 404)
        value = request.form.get(fields[change], "").strip()
        try:
            api("POST", f"/api/v1/{change}", body={fields[change]: value})
        except ApiFailure as exc:
            return listing(exc, exc.status)
        what = {"owner-change": "owner change", "address-change": "address change"}.get(change, "registration")
        return done(f"{PREFIX}/clients", f"The {what} request ({value or 'to the known authority'}) was sent to the authority.")

    register_detail(bp, state)


def _roles() -> tuple[str, ...]:
    from ._web import current

    return current().user.roles


BODY_LOGGING = (("default", "as the gateway's setting (message_body_logging)"), ("on", "log message bodies"),
                ("off", "log only the X-Road headers"))


def _detail(state: UiState, client_id: str, error: Any = None, status: int = 200) -> Any:
    client, groups = None, []
    try:
        client = api("GET", f"/api/v1/clients/{_quote(client_id)}").json
        groups = api("GET", f"/api/v1/clients/{_quote(client_id)}/local-groups").json["local_groups"]
    except ApiFailure as exc:
        error = error or exc
        status = status if status != 200 else exc.status
    logging = {None: "default", True: "on", False: "off"}.get(client.get("message_body_logging") if client else None)
    return render(state, "gwui/client.html", f"Client {client_id.replace(':', '/')}", status=status, error=error,
                  client=client, groups=groups, path_id=client_id, is_auth=IS_AUTH, body_logging=BODY_LOGGING,
                  logging=logging,
                  may_change="service-administrator" in _roles())


def register_detail(bp: Blueprint, state: UiState) -> None:
    """The page of one client: its IS authentication, IS certificates and message-body logging."""

    def back(client_id: str) -> str:
        return f"{PREFIX}/clients/{_quote(client_id)}"

    def patch(client_id: str, body: dict[str, Any], notice: str) -> Any:
        try:
            api("PATCH", f"/api/v1/clients/{_quote(client_id)}", body=body)
        except ApiFailure as exc:
            return _detail(state, client_id, exc, exc.status)
        return done(back(client_id), notice)

    @page(bp, state, "/clients/<client_id>", ANYONE)
    def client(client_id: str) -> Any:
        return _detail(state, client_id)

    @action(bp, state, "/clients/<client_id>/is-auth", SERVICES)
    def is_auth(client_id: str) -> Any:
        mode = request.form.get("is_auth", "")
        return patch(client_id, {"is_auth": mode}, f"Information systems now connect by {mode}.")

    @action(bp, state, "/clients/<client_id>/body-logging", SERVICES)
    def body_logging(client_id: str) -> Any:
        choice = request.form.get("logging", "default")
        value = {"on": True, "off": False}.get(choice)
        return patch(client_id, {"message_body_logging": value}, f"Message-body logging: {choice}.")

    @action(bp, state, "/clients/<client_id>/certificates", SERVICES)
    def add_certificate(client_id: str) -> Any:
        upload = request.files.get("certificate")
        pem = upload.read(64 * 1024).decode("utf-8", "replace") if upload is not None else ""
        try:
            api("POST", f"/api/v1/clients/{_quote(client_id)}/certificates",
                body={"pem": pem or request.form.get("pem", "")})
        except ApiFailure as exc:
            return _detail(state, client_id, exc, exc.status)
        return done(back(client_id), "IS certificate added.")

    register_groups(bp, state)

    @action(bp, state, "/clients/<client_id>/certificates/<sha256>/delete", SERVICES)
    def delete_certificate(client_id: str, sha256: str) -> Any:
        asked = confirm_first(state, f"Remove IS certificate {sha256[:16]}...?", "Remove certificate",
                              back(client_id), "The information system using it can no longer connect with it.")
        if asked:
            return asked
        try:
            api("DELETE", f"/api/v1/clients/{_quote(client_id)}/certificates/{sha256}")
        except ApiFailure as exc:
            return _detail(state, client_id, exc, exc.status)
        return done(back(client_id), "IS certificate removed.")


def register_groups(bp: Blueprint, state: UiState) -> None:
    """A client's local groups (subjects of its access rights): add, delete, members in and out."""

    def attempt(client_id: str, method: str, path: str, notice: str, **kwargs: Any) -> Any:
        try:
            api(method, f"/api/v1/clients/{_quote(client_id)}/local-groups{path}", **kwargs)
        except ApiFailure as exc:
            return _detail(state, client_id, exc, exc.status)
        return done(f"{PREFIX}/clients/{_quote(client_id)}", notice)

    @action(bp, state, "/clients/<client_id>/groups/add", SERVICES)
    def add_group(client_id: str) -> Any:
        code = request.form.get("code", "").strip()
        return attempt(client_id, "POST", "", f"Local group {code} added.",
                       body={"code": code, "description": request.form.get("description", "").strip()})

    @action(bp, state, "/clients/<client_id>/groups/<code>/delete", SERVICES)
    def delete_group(client_id: str, code: str) -> Any:
        asked = confirm_first(state, f"Delete local group {code}?", "Delete group",
                              f"{PREFIX}/clients/{_quote(client_id)}", "Access rights given to the group go with it.")
        return asked or attempt(client_id, "DELETE", f"/{urllib.parse.quote(code, safe='')}",
                                f"Local group {code} deleted.")

    @action(bp, state, "/clients/<client_id>/groups/<code>/members", SERVICES)
    def add_member(client_id: str, code: str) -> Any:
        member = request.form.get("member", "").strip()
        return attempt(client_id, "POST", f"/{urllib.parse.quote(code, safe='')}/members",
                       f"{member} added to {code}.", body={"members": [member]})

    @action(bp, state, "/clients/<client_id>/groups/<code>/members/remove", SERVICES)
    def remove_member(client_id: str, code: str) -> Any:
        member = request.form.get("member", "")
        asked = confirm_first(state, f"Remove {member} from {code}?", "Remove member",
                              f"{PREFIX}/clients/{_quote(client_id)}")
        return asked or attempt(client_id, "POST", f"/{urllib.parse.quote(code, safe='')}/members/remove",
                                f"{member} removed from {code}.", body={"members": [member]})


def _register_sync(bp: Blueprint, state: UiState, listing: Any) -> None:
    """The clients page's "Check the authority's decisions" (``listing`` shows an error on the page)."""

    @action(bp, state, "/clients/sync", REGISTRATION)
    def sync_clients() -> Any:
        """``sild gateway client sync``: the authority's decisions, as the downloaded configuration
        shows them (a client it lists is marked registered; one it lists no more is named)."""
        try:
            outcomes = api("POST", "/api/v1/clients/sync").json["clients"]
        except ApiFailure as exc:
            return listing(exc, exc.status)
        said = "; ".join(f"{o['client']}: {o['outcome'].replace('_', ' ')}" for o in outcomes)
        return done(f"{PREFIX}/clients", "The authority's decisions: " + (said or "no client is waiting") + ".")
