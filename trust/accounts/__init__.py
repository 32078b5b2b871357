"""User accounts of the admin web UIs: roles, passwords, sessions, CSRF, throttling, and the shared look.

Both admin UIs (the gateway's, the governing authority's) sign operators in with
the same rules, so the rules live once, here, free of any web framework (``trust``
may not import Flask; each role keeps a thin Flask adapter). Issue 18.

Roles (X-Road's five, as data)
    ``ROLES`` (``Role(name, title, duties, xroad_name)``), ``ROLE_NAMES``:
    ``security-officer``, ``registration-officer``, ``service-administrator``,
    ``system-administrator``, ``observer``. ``role(name)``; ``unknown_role_names(names)``;
    ``may(granted, needed)``: whether a user with roles ``granted`` may do what needs any
    one of ``needed`` (empty ``needed``: any signed-in user; no superuser, X-Road
    separates duties). Which roles a page or action needs is the role's UI's table.

Tables (in the role's own database, created by the role's own migration)
    ``account_tables(metadata, prefix) -> AccountTables(users, sessions, failures)``
    declares ``<prefix>_users``, ``<prefix>_sessions``, ``<prefix>_login_failures`` on
    ``metadata`` (pass the role's models' ``Base.metadata`` so alembic's comparison sees
    them; calling it twice returns the same tables). Each role has its own prefix
    (``gateway_ui``, ``central_ui``) so both can share one PostgreSQL database. In the
    migration: ``create_account_tables(op, prefix)`` in ``upgrade``,
    ``drop_account_tables(op, prefix)`` in ``downgrade``.

The store: ``Accounts(engine, tables, *, policy=Policy(), passwords=None, clock=utc_now, token=...)``
    Users: ``add_user(name, password, roles) -> User``, ``users()``, ``user(name)``,
    ``set_password(name, password)`` (ends the user's sessions), ``set_roles(name, roles)``,
    ``set_enabled(name, flag)`` (disabling ends sessions), ``remove_user(name)``.
    ``User(name, roles, enabled, created_at, last_login_at)``; never the hash.
    Logins: ``login(name, password, address) -> Login(session_id, session)``; raises
    ``LoginThrottled`` (``.retry_after`` seconds; checked before the password) or
    ``LoginRefused`` (one message for every reason). Put ``session_id`` in the cookie
    (Secure, HttpOnly, SameSite=Strict); it is stored only as its SHA-256.
    Requests: ``session(session_id) -> Session | None`` (``Session(user, started_at,
    expires_at, csrf)``; idle and absolute timeouts applied, roles read fresh, use
    marked); ``logout(session_id)``; ``session_count(name)``; ``prune()``.
    ``Policy(idle=30 min, absolute=12 h, window=15 min, user_limit=5, address_limit=30)``.

CSRF
    ``csrf_token(session_id)`` (= ``session.csrf``; an HMAC of the session id, nothing
    stored) goes in every form as the hidden field ``csrf_token``;
    ``csrf_matches(session_id, presented)`` checks a POST (constant time, missing never
    matches). Before login there is no session: give the login form a random
    pre-session cookie and use ``csrf_token``/``csrf_matches`` on it the same way.
    ``new_session_id()`` makes such a random value.

Passwords
    argon2id (argon2-cffi): ``Passwords`` (``hash``, ``verify -> Check(ok, rehash)``);
    ``password_problem(password)`` says in one line why a password is refused
    (12..1024 characters, no leading or trailing space).

Errors (``trust.errors`` tree): ``AccountError`` > ``AccountInvalid``,
    ``AccountExists``, ``AccountUnknown``, ``LoginRefused``, ``LoginThrottled``.

Paging and filtering of tables
    ``paginate(items, number, size=25) -> Page(items, number, pages, total, size)``
    (clamped), ``page_number(raw)`` from a query string, ``matching(items, q, text)``
    (every word of ``q``, case-insensitive).

The shared look (package data, no CDN, no build step)
    ``TEMPLATE_FOLDER``, ``STATIC_FOLDER``: give a Flask blueprint
    ``template_folder=str(TEMPLATE_FOLDER)`` (or add it to the app's Jinja loader) and
    serve ``STATIC_FOLDER`` (``sild.css``, ``sild.js``) at some ``static_url``.
    ``accounts/base.html`` (variables: ``title``, ``product``, ``nav``, ``session``,
    ``csrf``, ``logout_url``, ``static_url``, ``notices``, ``error`` with ``code`` and
    ``message``; block ``content``), ``accounts/login.html`` (+ ``action``, ``name``,
    ``cli_role``, ``next``), ``accounts/confirm.html`` (``question``, ``detail``, ``action``,
    ``fields``, ``button``, ``cancel_url``; posts ``confirmed=yes``),
    ``accounts/message.html`` (``lines``, ``back_url``) and the macros of
    ``accounts/macros.html`` (imported as ``ui`` in base.html): ``csrf_field``,
    ``error_box``, ``field``, ``textarea``, ``select``, ``checkbox``,
    ``action_button``, ``destroy_link`` (a link to the confirmation page, which
    ``sild.js`` turns into a dialog plus a POST with ``confirmed=yes``),
    ``filter_form``, ``pager``, ``table``.
    ``NavItem(label, url, roles)``, ``navigation(items, granted, current_url)``: the
    side navigation a user sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._assets import STATIC_FOLDER, TEMPLATE_FOLDER, NavItem, navigation
    from ._errors import AccountError, AccountExists, AccountInvalid, AccountUnknown, LoginRefused, LoginThrottled
    from ._paging import PAGE_SIZE, Page, matching, page_number, paginate
    from ._passwords import Check, Passwords, password_problem
    from ._policy import Policy, csrf_matches, csrf_token, new_session_id, session_digest
    from ._roles import ROLE_NAMES, ROLES, Role, may, role, unknown_role_names
    from ._schema import AccountTables, account_tables, create_account_tables, drop_account_tables
    from ._store import Accounts, Login, Session, User

__all__ = [
    "AccountError", "AccountExists", "AccountInvalid", "AccountTables", "AccountUnknown", "Accounts", "Check",
    "Login", "LoginRefused", "LoginThrottled", "NavItem", "PAGE_SIZE", "Page", "Passwords", "Policy",
    "ROLES", "ROLE_NAMES", "Role", "STATIC_FOLDER", "Session", "TEMPLATE_FOLDER", "User", "account_tables",
    "create_account_tables", "csrf_matches", "csrf_token", "drop_account_tables", "matching", "may",
    "navigation", "new_session_id", "page_number", "paginate", "password_problem", "role", "session_digest",
    "unknown_role_names",
]

__getattr__, __dir__ = attach(__name__, {
    "STATIC_FOLDER": "._assets", "TEMPLATE_FOLDER": "._assets", "NavItem": "._assets", "navigation": "._assets",
    "AccountError": "._errors", "AccountExists": "._errors", "AccountInvalid": "._errors",
    "AccountUnknown": "._errors", "LoginRefused": "._errors", "LoginThrottled": "._errors",
    "PAGE_SIZE": "._paging", "Page": "._paging", "matching": "._paging", "page_number": "._paging",
    "paginate": "._paging",
    "Check": "._passwords", "Passwords": "._passwords", "password_problem": "._passwords",
    "Policy": "._policy", "csrf_matches": "._policy", "csrf_token": "._policy", "new_session_id": "._policy",
    "session_digest": "._policy",
    "ROLE_NAMES": "._roles", "ROLES": "._roles", "Role": "._roles", "may": "._roles", "role": "._roles",
    "unknown_role_names": "._roles",
    "AccountTables": "._schema", "account_tables": "._schema", "create_account_tables": "._schema",
    "drop_account_tables": "._schema",
    "Accounts": "._store", "Login": "._store", "Session": "._store", "User": "._store",
})
