"""The shared look: roles as data, paging, navigation, and templates rendered by Jinja2 (issue 18)."""

from __future__ import annotations

import configparser
import fnmatch
from pathlib import Path

import jinja2
import pytest

from trust.accounts import (
    ROLE_NAMES, STATIC_FOLDER, TEMPLATE_FOLDER, NavItem, matching, may, navigation, page_number, paginate,
)

ROOT = Path(__file__).resolve().parents[3]


def test_the_five_roles_of_x_road_and_no_superuser() -> None:
    assert ROLE_NAMES == ("security-officer", "registration-officer", "service-administrator",
                          "system-administrator", "observer")
    assert may(["observer"], [])
    assert may(["observer", "security-officer"], ["security-officer"])
    assert not may(["system-administrator"], ["security-officer"])


def test_pages_are_clamped_and_filters_match_every_word() -> None:
    rows = list(range(60))
    assert paginate(rows, 3, 25).items == list(range(50, 60))
    last = paginate(rows, 99, 25)
    assert (last.number, last.pages, last.total, last.has_next, last.has_previous) == (3, 3, 60, False, True)
    assert paginate([], 5).pages == 1 and paginate([], 5).items == []
    assert [page_number(raw) for raw in ("2", "-4", "x", None)] == [2, 1, 1, 1]
    names = ["EE/GOV/tax", "EE/COM/bank", "FI/GOV/tax"]
    assert matching(names, "gov TAX", str) == ["EE/GOV/tax", "FI/GOV/tax"]
    assert matching(names, "  ", str) == names


def test_navigation_offers_only_what_the_roles_may_open() -> None:
    items = [NavItem("Dashboard", "/ui/"), NavItem("Keys", "/ui/keys", ("security-officer",))]
    assert [i.label for i in navigation(items, ["observer"], "/ui/")] == ["Dashboard"]
    shown = navigation(items, ["security-officer"], "/ui/keys")
    assert [(i.label, i.current) for i in shown] == [("Dashboard", False), ("Keys", True)]


@pytest.fixture
def env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_FOLDER)), autoescape=True,
                              undefined=jinja2.StrictUndefined)


BASE = {"title": "Clients", "product": "sild gateway", "nav": [], "session": None, "csrf": "tok", "logout_url": "/o",
        "static_url": "/ui/static", "notices": [], "error": None}


def test_the_login_page_labels_its_inputs_and_carries_the_csrf_token(env: jinja2.Environment) -> None:
    values = dict(BASE, error={"code": "trust.accounts.login_refused", "message": "wrong user name or password"})
    html = env.get_template("accounts/login.html").render(**values, action="/ui/login", name="<ana>",
                                                          cli_role="gateway", next="/ui/clients")
    assert '<label for="f-username">' in html and 'id="f-username"' in html
    assert '<label for="f-password">' in html and 'type="password"' in html
    assert 'name="csrf_token" value="tok"' in html
    assert 'value="&lt;ana&gt;"' in html  # escaped
    assert 'name="next" value="/ui/clients"' in html
    assert 'role="alert"' in html and "trust.accounts.login_refused" in html and "wrong user name" in html
    assert "/ui/static/sild.css" in html and "http" not in html.split("<body>")[0].replace("http-equiv", "")


def test_the_confirmation_page_posts_confirmed_and_offers_cancel(env: jinja2.Environment) -> None:
    html = env.get_template("accounts/confirm.html").render(
        **BASE, question="Delete client EE/GOV/1/tax?", detail=["Its services go too."], action="/ui/clients/x/delete",
        fields={"id": "x"}, button="Delete client", cancel_url="/ui/clients")
    assert 'action="/ui/clients/x/delete"' in html and 'name="confirmed" value="yes"' in html
    assert 'name="csrf_token" value="tok"' in html and 'href="/ui/clients"' in html


def test_macros_render_tables_pagers_and_destroy_links(env: jinja2.Environment) -> None:
    page = paginate(list(range(30)), 2, 10)
    template = env.from_string(
        '{% import "accounts/macros.html" as ui %}'
        '{{ ui.table([("Name", "name")], rows, "Clients") }}{{ ui.pager(page, "?q=x&page=") }}'
        '{{ ui.destroy_link("/c/confirm", "/c/delete", "Delete", "Delete c?") }}')
    html = template.render(rows=[{"name": "<b>"}], page=page)
    assert "<caption>Clients</caption>" in html and "&lt;b&gt;" in html and '<th scope="col">Name</th>' in html
    assert 'href="?q=x&amp;page=1"' in html and 'href="?q=x&amp;page=3"' in html and "Page 2 of 3" in html
    assert 'href="/c/confirm"' in html and 'data-action="/c/delete"' in html
    assert "Nothing here yet." in env.from_string(
        '{% import "accounts/macros.html" as ui %}{{ ui.table([("Name", "name")], [], "Empty") }}').render()


def test_templates_and_assets_ship_as_package_data() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in cfg["options.package_data"]["trust.accounts"].split(",")]
    package = TEMPLATE_FOLDER.parent
    files = [p.relative_to(package).as_posix() for folder in (TEMPLATE_FOLDER, STATIC_FOLDER)
             for p in folder.rglob("*") if p.is_file()]
    assert {"static/sild.css", "static/sild.js", "templates/accounts/base.html"} <= set(files)
    assert [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)] == []
    assert "http" not in (STATIC_FOLDER / "sild.css").read_text()  # no CDN, no web fonts


def test_a_destructive_button_asks_first_and_a_plain_one_does_not(env: jinja2.Environment) -> None:
    template = env.from_string('{% import "accounts/macros.html" as ui %}'
                               '{{ ui.action_button("/k/1/delete", "Delete", "tok", {"id": "1"}, "Delete key 1?") }}'
                               '{{ ui.action_button("/k/1/disable", "Disable", "tok") }}')
    destroy, plain = template.render().split("</form>")[:2]
    assert 'data-confirm="Delete key 1?"' in destroy and 'class="danger"' in destroy
    assert 'name="id" value="1"' in destroy and 'name="csrf_token" value="tok"' in destroy
    assert "data-confirm" not in plain and 'action="/k/1/disable"' in plain
