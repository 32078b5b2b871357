"""The Flask adapter of the authority's admin UI: sign-in, cookies, CSRF, roles, audit, rendering.

Every rule is :mod:`trust.accounts`' (shared with the gateway's UI); this module only
carries it over HTTP:

* **Sessions**: the session id lives in one cookie (``Secure``, ``HttpOnly``,
  ``SameSite=Strict``, path ``/ui``) and only its SHA-256 in the registry; before
  sign-in a random pre-session cookie carries the login form's CSRF token.
* **CSRF**: every POST (sign-in included) must carry the token of its session, or it is
  refused (403, ``ui.csrf``) before anything else is looked at.
* **Roles**: each route names the roles that may use it (X-Road's split: registration
  officers edit members, gateways and requests; security officers CAs, TSAs, keys and
  anchors; system administrators API keys; anyone signed in reads). A refusal is a
  403 page (``ui.forbidden``) naming the role needed.
* **Audit**: every POST is recorded in the authority's audit log as the UI user
  (channel ``ui``): a change in the transaction that makes it (as the API's calls are),
  a refusal or failure afterwards with its error code. The API's own hook skips these
  requests (:data:`federation.central.api.SELF_AUDITED`), so nothing is recorded twice.
* **Errors**: a refusal of the registry (or of the API's identifier readers) is shown in
  the page's error box with its code and the HTTP status the API would answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template, request
from flask.typing import ResponseReturnValue

from trust.accounts import (
    STATIC_FOLDER, TEMPLATE_FOLDER, Accounts, NavItem, Session, csrf_matches, csrf_token, matching, navigation,
    new_session_id, page_number, paginate,
)
from trust.errors import SildError
from trust.infra import AuditEntry, AuditLog, begin_action, end_action

from federation.central.api import SELF_AUDITED, ApiContext, status_of
from federation.central.registry import ACCOUNT_TABLES, AuditRow

PREFIX = "/ui"
BLUEPRINT = "central_ui"
SESSION_COOKIE = "sild_central_session"
PRE_COOKIE = "sild_central_login"
TEMPLATES = Path(__file__).parent / "templates"
REG, SEC, SYS = ("registration-officer",), ("security-officer",), ("system-administrator",)
AUDIT_READERS = ("security-officer", "system-administrator")
SETTINGS_EDITORS = AUDIT_READERS  # the API's PATCH /settings: security-officer, or system-admin (its superuser)
UNAUDITED_FIELDS = frozenset({"csrf_token", "confirmed", "content"})  # content: an uploaded file (see g.ui_audit_params)

NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", f"{PREFIX}/"),
    NavItem("Members", f"{PREFIX}/members"),
    NavItem("Gateways", f"{PREFIX}/gateways"),
    NavItem("Requests", f"{PREFIX}/requests"),
    NavItem("Global groups", f"{PREFIX}/groups"),
    NavItem("Certification authorities", f"{PREFIX}/cas"),
    NavItem("Timestamping", f"{PREFIX}/tsas"),
    NavItem("Signing keys", f"{PREFIX}/keys"),
    NavItem("Trusted anchors", f"{PREFIX}/anchors"),
    NavItem("Configuration", f"{PREFIX}/configuration"),
    NavItem("Settings", f"{PREFIX}/settings"),
    NavItem("Audit log", f"{PREFIX}/audit", AUDIT_READERS),
    NavItem("API keys", f"{PREFIX}/api-keys", SYS),
    NavItem("Backup", f"{PREFIX}/backup", SYS),
)


@dataclass(frozen=True)
class Problem:
    """What the error box shows: a stable code and a sentence."""

    code: str
    message: str


class Ui:
    """The UI's routes on one blueprint, over the management API's context and the account store."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.accounts = Accounts(ctx.registry.engine, ACCOUNT_TABLES, clock=ctx.config.clock)
        self.audit = AuditLog(ctx.registry.engine, AuditRow.__table__)
        self.bp = Blueprint(BLUEPRINT, __name__, url_prefix=PREFIX, template_folder=str(TEMPLATES),
                            static_folder=str(STATIC_FOLDER), static_url_path="/static")
        self.bp.before_request(self._before)
        self.bp.after_request(self._after)
        self.bp.teardown_request(self._teardown)

    @property
    def instance(self) -> str:
        return str(self.ctx.registry.instance)

    # -- routes --------------------------------------------------------------------------

    def route(self, path: str, roles: Sequence[str] = (), methods: Sequence[str] = ("GET",),
              endpoint: str | None = None) -> Callable[..., Any]:
        """Register a view that only users with one of ``roles`` (empty: anyone signed in) may use."""

        def wrap(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
                session: Session = g.ui_session
                if roles and not set(roles).intersection(session.user.roles):
                    return self.refuse(403, "ui.forbidden", f"this needs the role {' or '.join(roles)}; you are "
                                       f"signed in as {', '.join(session.user.roles)}")
                return view(*args, **kwargs)

            self.bp.add_url_rule(path, endpoint or view.__name__, guarded, methods=list(methods))
            return guarded

        return wrap

    def render(self, template: str, title: str, *, status: int = 200, **values: Any) -> ResponseReturnValue:
        session: Session | None = g.get("ui_session")
        granted = session.user.roles if session else ()
        error = values.pop("error", None)
        if isinstance(error, SildError):
            status = status_of(error)
            if status == 500:  # as the API answers: the cause is in the log, not in the page
                current_app.logger.error("UI action failed: %s [%s]", error, error.code)
            error = Problem(error.code, "internal error; see the authority's log" if status == 500 else str(error))
        page = render_template(
            template, title=title, product=f"sild authority {self.instance}",
            nav=navigation(NAV, granted, request.path) if session else [], session=session,
            csrf=g.get("ui_csrf", ""), logout_url=f"{PREFIX}/logout", static_url=f"{PREFIX}/static",
            error=error, may=lambda roles: bool(set(roles).intersection(granted)), prefix=PREFIX,
            form=request.form if request.method == "POST" else {}, **values)
        return page, status

    def refuse(self, status: int, code: str, message: str) -> ResponseReturnValue:
        g.ui_outcome = code
        return self.render("accounts/message.html", "Not allowed" if status == 403 else "Error", status=status,
                           error=Problem(code, message), back_url=f"{PREFIX}/")

    def act(self, do: Callable[[], str], page: Callable[..., ResponseReturnValue]) -> ResponseReturnValue:
        """Run one change through the registry; show ``page`` with its notice, or with the refusal and the form kept."""
        try:
            notice = do()
        except SildError as exc:
            g.ui_outcome = exc.code
            return page(error=exc)
        self.ctx.changed()
        return page(notices=[notice])

    def listing(self, items: Sequence[Any], text: Callable[[Any], str]) -> dict[str, Any]:
        """The filtered page of ``items`` the query string asks for: ``page``, ``q`` and the pager's ``base``."""
        q = request.args.get("q", "")
        page = paginate(matching(items, q, text), page_number(request.args.get("page")))
        return {"page": page, "q": q, "base": f"{request.path}?{urlencode({'q': q})}&page="}

    def confirm(self, question: str, detail: Sequence[str], button: str, cancel: str,
                fields: dict[str, str] | None = None) -> ResponseReturnValue:
        """The confirmation page of a destructive action (its form posts back here with ``confirmed=yes``)."""
        return self.render("accounts/confirm.html", "Please confirm", question=question, detail=list(detail),
                           action=request.path, fields=fields or {}, button=button, cancel_url=f"{PREFIX}/{cancel}")

    def confirmed(self) -> bool:
        return request.form.get("confirmed") == "yes"

    # -- hooks -----------------------------------------------------------------------------

    def _before(self) -> ResponseReturnValue | None:
        if request.endpoint == f"{BLUEPRINT}.static":
            return None
        session = self.accounts.session(request.cookies.get(SESSION_COOKIE))
        g.ui_session = session
        public = request.endpoint == f"{BLUEPRINT}.login"
        if session is not None:
            g.ui_csrf = session.csrf
        elif public:
            g.ui_pre = request.cookies.get(PRE_COOKIE) or new_session_id()
            g.ui_csrf = csrf_token(g.ui_pre)
        if request.method == "POST":
            g.ui_action, g.ui_token = begin_action(lambda: self._entry("ok"))
            presented = request.form.get("csrf_token")
            secret = request.cookies.get(SESSION_COOKIE) if session else request.cookies.get(PRE_COOKIE)
            if not secret or not csrf_matches(secret, presented):
                return self.refuse(403, "ui.csrf", "the form was not sent from a page of this session (CSRF check); "
                                   "reload the page and try again")
        if session is None and not public:
            return redirect(f"{PREFIX}/login")
        return None

    def _entry(self, outcome: str, status: int | None = None) -> AuditEntry:
        session: Session | None = g.get("ui_session")
        actor = session.user.name if session else g.get("ui_login_name") or "-"
        params = {k: v for k, v in request.form.items() if k not in UNAUDITED_FIELDS}
        params.update({k: f"file {f.filename}" for k, f in request.files.items() if f.filename})
        params.update(g.get("ui_audit_params") or {})
        return AuditEntry(self.ctx.config.clock(), "ui", actor, request.remote_addr or "-",
                          f"{request.method} {request.path}", params, outcome, status)

    def _after(self, response: Response) -> Response:
        if "ui_pre" in g and g.get("ui_session") is None and not request.cookies.get(PRE_COOKIE):
            response.set_cookie(PRE_COOKIE, g.ui_pre, secure=True, httponly=True, samesite="Strict", path=PREFIX)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        action = g.get("ui_action")
        if request.method != "POST" or action is None or (action.written and response.status_code < 400):
            return response
        outcome = g.get("ui_outcome") or ("ok" if response.status_code < 400 else f"http {response.status_code}")
        try:
            self.audit.append(self._entry(outcome, response.status_code))
        except Exception:  # noqa: BLE001 - the page is answered; a lost entry is logged loudly
            current_app.logger.exception("audit log not written for %s %s", request.method, request.path)
        return response

    def _teardown(self, _exc: BaseException | None) -> None:
        token = g.pop("ui_token", None)
        if token is not None:
            end_action(token)


def register(app: Flask, ui: Ui) -> None:
    """Put the UI on ``app`` and tell the API's audit hook that the UI records its own requests.

    A second, route-less blueprint adds the shared ``accounts/`` templates (base, login,
    confirm, macros) to the app's template search.
    """
    app.register_blueprint(ui.bp)
    app.register_blueprint(Blueprint(f"{BLUEPRINT}_shared", __name__, template_folder=str(TEMPLATE_FOLDER)))
    app.extensions[SELF_AUDITED] = frozenset({*app.extensions.get(SELF_AUDITED, ()), BLUEPRINT})
