"""Signing in and out of the authority's UI (the rules are :class:`trust.accounts.Accounts`').

A refused sign-in says one thing whatever the reason (unknown name, wrong password,
disabled account), so the page tells an attacker nothing; a throttled one says how
long to wait. Both are recorded in the audit log with the name that was typed.
"""

from __future__ import annotations

from flask import g, redirect, request
from flask.typing import ResponseReturnValue

from werkzeug.wrappers import Response

from trust.accounts import LoginRefused, LoginThrottled

from ._web import PRE_COOKIE, PREFIX, SESSION_COOKIE, Problem, Ui


def add_signin(ui: Ui) -> None:
    bp = ui.bp

    def login_page(name: str = "", error: Problem | None = None, status: int = 200) -> ResponseReturnValue:
        return ui.render("accounts/login.html", "Log in", status=status, action=f"{PREFIX}/login", name=name,
                         cli_role="central", error=error)

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if g.get("ui_session") is not None:
            return redirect(f"{PREFIX}/")
        if request.method == "GET":
            return login_page()
        name = request.form.get("username", "").strip()
        g.ui_login_name = name[:64] or "-"
        try:
            done = ui.accounts.login(name, request.form.get("password", ""), request.remote_addr or "-")
        except LoginThrottled as exc:
            g.ui_outcome = exc.code
            return login_page(name, Problem(exc.code, f"too many failed logins; try again in {exc.retry_after} "
                                                      "seconds"), 429)
        except LoginRefused as exc:
            g.ui_outcome = exc.code
            return login_page(name, Problem(exc.code, str(exc)), 401)
        response: Response = redirect(f"{PREFIX}/")
        response.set_cookie(SESSION_COOKIE, done.session_id, secure=True, httponly=True, samesite="Strict",
                            path=PREFIX)
        response.delete_cookie(PRE_COOKIE, path=PREFIX, secure=True, httponly=True, samesite="Strict")
        return response

    @ui.route("/logout", methods=("POST",))
    def logout() -> ResponseReturnValue:
        ui.accounts.logout(request.cookies.get(SESSION_COOKIE))
        response: Response = redirect(f"{PREFIX}/login")
        response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=True, httponly=True, samesite="Strict")
        return response
