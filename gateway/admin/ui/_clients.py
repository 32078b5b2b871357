"""Clients: the members and subsystems this gateway serves; add, register with the authority, delete.

Each action is the API's: ``POST /api/v1/clients`` (saved locally, as X-Road's "add
client"), ``POST /api/v1/clients/{id}/registration`` (the signed management request
to the authority), ``POST /api/v1/clients/{id}/deletion`` and
``DELETE /api/v1/clients/{id}``. Adding and registering are the registration
officer's; deleting too (after a confirmation).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from flask import Blueprint, request

from trust.accounts import matching, page_number, paginate

from .._config import AdminConfig
from ._api import ApiFailure
from ._pages import ANYONE, PREFIX, REGISTRATION
from ._web import UiState, action, api, confirmed, done, page, render

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
        shown = paginate(matching(clients, query, lambda c: f"{c['id']} {c['state']}"), page_number(request.args.get("page")))
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


def _roles() -> tuple[str, ...]:
    from ._web import current

    return current().user.roles
