"""Putting the UI's pages on the authority's management app, in the order of the navigation."""

from __future__ import annotations

from flask import Flask, redirect
from werkzeug.wrappers import Response

from ._cas import add_ca_pages
from ._gateways import add_gateway_pages
from ._keys import add_key_pages
from ._members import add_member_pages
from ._signin import add_signin
from ._system import add_system_pages
from ._web import PREFIX, Ui, register


def install_ui(app: Flask) -> None:
    """Add the UI to ``app`` (made by ``create_app`` with the management API on it)."""
    context = app.extensions["sild.central"].get("context")
    if context is None or not context.config.management:
        raise ValueError("the UI goes on the app that serves the management API")
    ui = Ui(context)
    for add in (add_signin, add_system_pages, add_member_pages, add_gateway_pages, add_ca_pages, add_key_pages):
        add(ui)
    register(app, ui)

    def to_ui() -> Response:
        return redirect(f"{PREFIX}/")

    app.add_url_rule("/", "central_ui_root", to_ui)
