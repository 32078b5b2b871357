"""The gateway's admin UI as Flask blueprints: the pages under ``/ui``, the shared assets, sign-in and sign-out.

:func:`ui_blueprints` is what :func:`gateway.admin.create_app` registers beside the
API, so the UI is served on the admin port (HTTPS) with nothing more to configure;
``/`` of that port leads to it. Each group of pages is one module that registers its
views on the ``ui`` blueprint (``register(bp, state)``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, redirect, request

from trust.accounts import (
    STATIC_FOLDER, TEMPLATE_FOLDER, Accounts, LoginRefused, LoginThrottled, csrf_matches, csrf_token,
    new_session_id,
)
from trust.infra import AuditLog, utc_now

from gateway.db import UI_ACCOUNTS, AuditRecord

from .._config import AdminConfig
from . import _apikeys, _clients, _dashboard, _evidence, _keys, _services, _system, _traffic
from ._pages import PREFIX
from ._web import (
    COOKIE, LOGIN_COOKIE, STATIC_URL, UiState, Refusal, install_guard, record, render, safe_next,
    set_cookie,
)

PAGES = (_dashboard, _clients, _services, _keys, _evidence, _system, _traffic, _apikeys)


def ui_state(config: AdminConfig) -> UiState:
    clock = config.clock or utc_now
    conf = config.conf

    def product() -> str:
        identity = conf.snapshot().identity
        return f"sild gateway {identity.to_text()}" if identity is not None else "sild gateway"

    return UiState(Accounts(conf.engine, UI_ACCOUNTS, clock=clock), AuditLog(conf.engine, AuditRecord.__table__),
                   clock, product)


def ui_blueprints(config: AdminConfig) -> list[Blueprint]:
    """The UI's pages (``/ui/...``) and its assets (``/ui/static/...``, templates), with ``/`` leading to them."""
    state = ui_state(config)
    bp = Blueprint("ui", __name__, url_prefix=PREFIX, template_folder="templates")
    install_guard(bp, state)
    _sign_in(bp, state)
    for module in PAGES:
        module.register(bp, state, config)
    assets = Blueprint("ui_assets", __name__, static_folder=str(STATIC_FOLDER), static_url_path=STATIC_URL,
                       template_folder=str(TEMPLATE_FOLDER))
    assets.add_url_rule("/", "root", lambda: redirect(f"{PREFIX}/", 303))
    return [bp, assets]


def _login_page(state: UiState, *, status: int = 200, error: Any = None, name: str = "") -> Response:
    kept = request.cookies.get(LOGIN_COOKIE)
    fresh = kept if kept and status != 403 else new_session_id()
    g.login_csrf = csrf_token(fresh)
    response = render(state, "accounts/login.html", "Log in", status=status, error=error, name=name,
                      action=f"{PREFIX}/login", cli_role="gateway", next=request.values.get("next", ""))
    if fresh != request.cookies.get(LOGIN_COOKIE):
        set_cookie(response, LOGIN_COOKIE, fresh, max_age=3600)
    return response


def _sign_in(bp: Blueprint, state: UiState) -> None:
    @bp.get("/login", endpoint="login_form")
    def login_form() -> Any:
        if g.ui_session is not None:
            return redirect(safe_next(request.args.get("next")), 303)
        return _login_page(state)

    @bp.post("/login", endpoint="login")
    def login() -> Any:
        if not csrf_matches(request.cookies.get(LOGIN_COOKIE, ""), request.form.get("csrf_token")):
            record(state, "POST /ui/login", "gateway.admin.ui.csrf")  # answered with the form and a fresh token
            return _login_page(state, status=403, error=Refusal(
                "gateway.admin.ui.csrf", "this login form was not this gateway's or has expired; log in again"))
        name = request.form.get("username", "").strip()
        try:
            signed_in = state.accounts.login(name, request.form.get("password", ""), request.remote_addr or "-")
        except (LoginRefused, LoginThrottled) as exc:
            record(state, "ui login", exc.code, actor=name[:64] or "-")
            throttled = isinstance(exc, LoginThrottled)
            response = _login_page(state, status=429 if throttled else 401, error=Refusal(exc.code, exc.message),
                                   name=name)
            if isinstance(exc, LoginThrottled):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        record(state, "ui login", actor=name)
        state.accounts.prune()  # sessions and failures past their time go now and then, here
        onward = redirect(safe_next(request.form.get("next")), 303)
        set_cookie(onward, COOKIE, signed_in.session_id)
        onward.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
        return onward

    @bp.post("/logout", endpoint="logout")
    def logout() -> Any:
        record(state, "ui logout")
        state.accounts.logout(request.cookies.get(COOKIE))
        response = redirect(f"{PREFIX}/login", 303)
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
        return response
