"""The Flask side of the gateway's admin UI: cookies, CSRF, sign-in, role guards, rendering.

Everything that decides (who is signed in, whether a session has timed out, whether
a form's CSRF token is the session's, whether a login is throttled) is
:mod:`trust.accounts`'; this adapter only carries values between Flask and it:

* The session cookie is ``__Host-sild-ui``: Secure, HttpOnly, SameSite=Strict, Path=/
  (the ``__Host-`` prefix makes the browser refuse it over plain HTTP, from another
  host or with a Domain, so no sibling site can plant one). It holds the session id,
  which the database keeps only as a hash.
* Every POST carries the session's CSRF token (``csrf_token``); the login form, sent
  before any session exists, carries the token of a pre-session cookie. A POST
  without the right token is refused with ``gateway.admin.ui.csrf`` and recorded in
  the audit log.
* Each view names the roles that may use it (:func:`page`, :func:`action`); a refusal
  is a page that says which roles would do, status 403.
* Pages are never cached and may load nothing from elsewhere (Content-Security-Policy).

Logins, failed logins, logouts and refusals are recorded in the audit log on the
``ui`` channel; everything else the UI does is an API call, which the API records as
the UI user's.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, make_response, redirect, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as AnyResponse

from trust.accounts import Accounts, Session, csrf_matches, may, navigation, role
from trust.errors import SildError
from trust.infra import AuditEntry, AuditLog

from ._pages import NAV, PREFIX

log = logging.getLogger("gateway.admin.ui")

COOKIE = "__Host-sild-ui"
LOGIN_COOKIE = "__Host-sild-login"
NOTICE_COOKIE = "__Host-sild-notice"
STATIC_URL = f"{PREFIX}/static"
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class UiState:
    """What the UI's views share: the account store, the audit log, the clock, the gateway's name."""

    accounts: Accounts
    audit: AuditLog
    clock: Callable[[], dt.datetime]
    product: Callable[[], str]


@dataclass(frozen=True)
class Refusal:
    """An error shown in the error box: a code and a plain message."""

    code: str
    message: str


def current() -> Session:
    """The signed-in user's session (the guard has made sure there is one)."""
    session: Session = g.ui_session
    return session


def record(state: UiState, operation: str, outcome: str = "ok", actor: str | None = None, **params: Any) -> None:
    """An entry of the UI's own (not an API call) in the audit log."""
    session = g.get("ui_session")
    who = actor or (session.user.name if session is not None else "-")
    state.audit.append(AuditEntry(state.clock(), "ui", who, request.remote_addr or "-", operation, params, outcome))


def set_cookie(response: AnyResponse, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="Strict")


def render(state: UiState, template: str, title: str, *, status: int = 200, error: Any = None,
           **values: Any) -> Response:
    """A page in the shared layout, with the navigation the user's roles allow and a pending notice."""
    session = g.get("ui_session")
    nav = navigation(NAV, session.user.roles, request.path) if session is not None else []
    notice = request.cookies.get(NOTICE_COOKIE)
    notices = [urllib.parse.unquote(notice)] if notice else []
    html = render_template(
        template, title=title, product=state.product(), nav=nav, session=session,
        csrf=session.csrf if session is not None else g.get("login_csrf", ""), logout_url=f"{PREFIX}/logout",
        static_url=STATIC_URL, base_url=PREFIX, notices=notices, error=error, **values)
    response = make_response(html, status)
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response


def done(url: str, notice: str) -> AnyResponse:
    """Post/Redirect/Get: go to ``url`` and say ``notice`` there once."""
    response = redirect(url, 303)
    set_cookie(response, NOTICE_COOKIE, urllib.parse.quote(notice[:300]))
    return response


def refuse(state: UiState, status: int, code: str, message: str) -> Response:
    return render(state, "accounts/message.html", "Not allowed" if status == 403 else "Error", status=status,
                  error=Refusal(code, message), back_url=f"{PREFIX}/")


def _role_refusal(state: UiState, roles: tuple[str, ...]) -> Response | None:
    granted = current().user.roles
    if may(granted, roles):
        return None
    titles = ", ".join(role(r).title.lower() for r in roles)
    record(state, f"{request.method} {request.path}", "gateway.admin.ui.forbidden")
    return refuse(state, 403, "gateway.admin.ui.forbidden",
                  f"this needs the role of {titles}; you have: {', '.join(granted)}")


View = Callable[..., Any]


def page(bp: Blueprint, state: UiState, rule: str, roles: tuple[str, ...], methods: Iterable[str] = ("GET",),
         ) -> Callable[[View], View]:
    """Register a view at ``rule`` that only users with one of ``roles`` may use (empty: any user)."""

    def register(view: View) -> View:
        @functools.wraps(view)
        def guarded(**kwargs: Any) -> Any:
            return _role_refusal(state, roles) or view(**kwargs)

        group = view.__module__.rsplit(".", 1)[-1].lstrip("_")  # endpoints unique across the page modules
        bp.add_url_rule(rule, endpoint=f"{group}_{view.__name__}", view_func=guarded, methods=list(methods))
        return view

    return register


def action(bp: Blueprint, state: UiState, rule: str, roles: tuple[str, ...]) -> Callable[[View], View]:
    """A POST-only view (CSRF is checked for every POST before any view runs)."""
    return page(bp, state, rule, roles, methods=("POST",))


def confirmed() -> bool:
    """Whether a destructive POST came from its confirmation (page or dialog)."""
    return request.form.get("confirmed") == "yes"


def safe_next(target: str | None) -> str:
    """Where to go after login: a page of this UI, never another site."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{PREFIX}/"


def install_guard(bp: Blueprint, state: UiState) -> None:
    """Before every view of ``bp``: find the session, send strangers to the login page, check CSRF on POSTs."""

    @bp.before_request
    def _guard() -> Any:
        g.ui_session = state.accounts.session(request.cookies.get(COOKIE))
        if request.endpoint in ("ui.login", "ui.login_form"):
            return None
        if g.ui_session is None:
            if request.method == "GET":
                return redirect(f"{PREFIX}/login?next={urllib.parse.quote(request.full_path.rstrip('?'))}", 303)
            return refuse(state, 401, "gateway.admin.ui.signed_out",
                          "your session has ended (timed out or logged out); log in again")
        if request.method == "POST" and not csrf_matches(request.cookies.get(COOKIE, ""),
                                                         request.form.get("csrf_token")):
            return csrf_refusal(state)
        return None

    @bp.after_request
    def _headers(response: Response) -> Response:
        response.headers.update(HEADERS)
        return response

    @bp.errorhandler(SildError)
    def _refused(exc: SildError) -> Response:
        """An error a page did not expect from sild itself: its code and message, as the API would say."""
        return refuse(state, 400, exc.code, exc.message)

    @bp.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return refuse(state, exc.code or 500, f"gateway.admin.http_{exc.code}", exc.description or exc.name)
        correlation = str(uuid.uuid4())
        log.exception("admin UI internal error %s", correlation)
        return refuse(state, 500, "gateway.admin.internal_error", f"internal error; logged under {correlation}")


def csrf_refusal(state: UiState) -> Response:
    record(state, f"{request.method} {request.path}", "gateway.admin.ui.csrf")
    return refuse(state, 403, "gateway.admin.ui.csrf",
                  "this form was not sent from this gateway's own page (its security token is missing or wrong); "
                  "reload the page and try again")


def api(method: str, path: str, **kwargs: Any) -> Any:
    """Call the management API as the signed-in user (:func:`._api.call`); the answer, or :class:`ApiFailure`."""
    from ._api import call

    session = current()
    return call(session.user.name, session.user.roles, method, path, **kwargs)


def confirm_first(state: UiState, question: str, button: str, cancel_url: str, *detail: str) -> Response | None:
    """Unless this POST was confirmed, the confirmation page that posts it again (its fields kept, confirmed=yes)."""
    if confirmed():
        return None
    fields = {k: v for k, v in request.form.items() if k not in ("csrf_token", "confirmed")}
    return render(state, "accounts/confirm.html", "Confirm", question=question, detail=list(detail),
                  action=request.path, fields=fields, button=button, cancel_url=cancel_url)
