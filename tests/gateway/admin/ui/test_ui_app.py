"""The admin UI's rules on the app itself (no browser): cookies, CSRF, roles, throttling, redirects, audit.

These run everywhere (no Chromium needed) on a real SQLite server configuration;
the browser tests (test_ui.py) run the same rules end to end against a running gateway.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.admin import AdminConfig, create_app
from gateway.admin.ui import API_ROLES, api_roles
from gateway.admin.ui._site import ui_state
from gateway.db import open_engine
from gateway.serverconf import ServerConf

BASE = "https://gw.example"
PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path: Path) -> Any:
    conf = ServerConf(open_engine(tmp_path / "serverconf.db"), refresh_interval=0)
    config = AdminConfig(conf)
    accounts = ui_state(config).accounts
    accounts.add_user("reino", PASSWORD, ["registration-officer"])
    accounts.add_user("olga", PASSWORD, ["observer"])
    created = create_app(config)
    created.config["conf"] = conf
    return created


def login(client: Any, name: str, password: str = PASSWORD, address: str = "192.0.2.1") -> Any:
    form = client.get(f"{BASE}/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    return client.post(f"{BASE}/ui/login", data={"username": name, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def csrf(client: Any, path: str = "/ui/clients") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(BASE + path).text).group(1)  # type: ignore


def test_the_session_cookie_is_secure_httponly_strict_and_host_only(app: Any) -> None:
    client = app.test_client()
    answer = login(client, "reino")
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/"
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("__Host-sild-ui="))
    assert {"Secure", "HttpOnly", "SameSite=Strict", "Path=/"} <= {p.strip() for p in cookie.split(";")}
    assert "Domain" not in cookie
    page = client.get(f"{BASE}/ui/clients")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


def test_strangers_are_sent_to_login_and_only_back_to_this_ui(app: Any) -> None:
    client = app.test_client()
    assert client.get(f"{BASE}/").headers["Location"] == "/ui/"
    answer = client.get(f"{BASE}/ui/clients?q=x")
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/login?next=/ui/clients%3Fq%3Dx"
    assert client.post(f"{BASE}/ui/clients/add", data={"id": "EE/GOV/1/x"}).status_code == 401
    form = client.get(f"{BASE}/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = client.post(f"{BASE}/ui/login", data={"username": "olga", "password": PASSWORD, "csrf_token": token,
                                                   "next": "//evil.example/ui/"})
    assert answer.headers["Location"] == "/ui/"


def test_login_without_its_csrf_token_is_refused(app: Any) -> None:
    client = app.test_client()
    answer = client.post(f"{BASE}/ui/login", data={"username": "olga", "password": PASSWORD})
    assert answer.status_code == 403 and "gateway.admin.ui.csrf" in answer.text
    assert not any(c.startswith("__Host-sild-ui=") for c in answer.headers.getlist("Set-Cookie"))
    assert 'name="csrf_token" value="' in answer.text  # the form again, with a fresh token that works
    assert login(client, "olga").status_code == 303


def test_repeated_wrong_passwords_are_throttled_with_retry_after(app: Any) -> None:
    client = app.test_client()
    for _ in range(5):
        assert login(client, "olga", "wrong password here").status_code == 401
    throttled = login(client, "olga")
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "trust.accounts.throttled" in throttled.text and "try again in" in throttled.text


def test_csrf_roles_and_api_errors_on_a_form(app: Any) -> None:
    client = app.test_client()
    login(client, "reino")
    token = csrf(client)
    refused = client.post(f"{BASE}/ui/clients/add", data={"id": "EE/GOV/1/a", "csrf_token": "f" * 64})
    assert refused.status_code == 403 and "gateway.admin.ui.csrf" in refused.text
    added = client.post(f"{BASE}/ui/clients/add", data={"id": "EE/GOV/1/a", "is_auth": "http", "csrf_token": token})
    assert added.status_code == 303
    bad = client.post(f"{BASE}/ui/clients/add", data={"id": "not an id", "is_auth": "http", "csrf_token": token})
    assert bad.status_code == 400 and "Error code" in bad.text and 'value="not an id"' in bad.text
    unconfirmed = client.post(f"{BASE}/ui/clients/EE:GOV:1:a/delete", data={"csrf_token": token})
    assert unconfirmed.status_code == 200 and 'name="confirmed" value="yes"' in unconfirmed.text
    assert [c.id.to_text() for c in app.config["conf"].list_clients()] == ["EE/GOV/1/a"]
    olga = app.test_client()
    login(olga, "olga")
    forbidden = olga.post(f"{BASE}/ui/clients/EE:GOV:1:a/delete", data={"csrf_token": csrf(olga), "confirmed": "yes"})
    assert forbidden.status_code == 403 and "registration officer" in forbidden.text
    assert [c.id.to_text() for c in app.config["conf"].list_clients()] == ["EE/GOV/1/a"]
    rows = ui_state(AdminConfig(app.config["conf"])).audit.entries()
    seen = [(r.channel, r.actor, r.operation, r.outcome) for r in rows]
    assert ("ui", "reino", "POST /api/v1/clients", "ok") in seen  # the API's record, as the UI user
    assert ("ui", "reino", "POST /ui/clients/add", "gateway.admin.ui.csrf") in seen
    assert ("ui", "olga", "POST /ui/clients/EE:GOV:1:a/delete", "gateway.admin.ui.forbidden") in seen


def test_an_idle_session_times_out_and_the_user_logs_in_again(tmp_path: Path) -> None:
    import datetime as dt

    now = [dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.timezone.utc)]
    conf = ServerConf(open_engine(tmp_path / "serverconf.db"), refresh_interval=0)
    config = AdminConfig(conf, clock=lambda: now[0])
    ui_state(config).accounts.add_user("olga", PASSWORD, ["observer"])
    client = create_app(config).test_client()
    login(client, "olga")
    now[0] += dt.timedelta(minutes=29)
    assert client.get(f"{BASE}/ui/clients").status_code == 200
    now[0] += dt.timedelta(minutes=31)
    expired = client.get(f"{BASE}/ui/clients")
    assert expired.status_code == 303 and expired.headers["Location"].startswith("/ui/login?next=")
    assert login(client, "olga").status_code == 303
    assert client.get(f"{BASE}/ui/clients").status_code == 200


def test_logout_needs_the_token_and_ends_the_session(app: Any) -> None:
    client = app.test_client()
    login(client, "olga")
    assert client.post(f"{BASE}/ui/logout").status_code == 403
    assert client.get(f"{BASE}/ui/").status_code == 200
    assert client.post(f"{BASE}/ui/logout", data={"csrf_token": csrf(client, "/ui/")}).status_code == 303
    assert client.get(f"{BASE}/ui/").status_code == 303


def test_every_ui_role_maps_to_api_roles_the_api_knows() -> None:
    from gateway.serverconf._apikeys import ROLES

    assert set(API_ROLES) == {"security-officer", "registration-officer", "service-administrator",
                              "system-administrator", "observer"}
    assert api_roles(["observer", "service-administrator"]) == {"viewer", "auditor", "service-admin"}
    assert set().union(*API_ROLES.values()) <= set(ROLES)


def _sild(*args: str, input: str | None = None) -> Any:
    from gateway.cli._main import _register, cli

    _register()
    return CliRunner().invoke(cli, list(args), input=input)


def test_sild_gateway_user_commands(tmp_path: Path) -> None:
    from gateway.provision import init_gateway

    directory = tmp_path / "gw"
    init_gateway(directory, anchor=None, server="EE/GOV/70000001/gw1", pin="a test pin 1234",
                 settings={"is_port": 0, "peer_port": 0, "admin_port": 0})
    added = _sild("gateway", "user", "add", str(directory), "ana", "--role", "security-officer", "--role", "observer",
                  input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0 and "user ana added (security-officer, observer)" in added.output
    short = _sild("gateway", "user", "add", str(directory), "bo", "--role", "observer", input="short\nshort\n")
    assert short.exit_code == 1 and "at least 12 characters [trust.accounts.invalid]" in short.output
    again = _sild("gateway", "user", "add", str(directory), "ana", "--role", "observer",
                  input=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.exit_code == 1 and "[trust.accounts.exists]" in again.output
    wrong_role = _sild("gateway", "user", "add", str(directory), "bo", "--role", "admin")
    assert wrong_role.exit_code == 2 and "admin" in wrong_role.output
    listed = _sild("gateway", "user", "list", str(directory))
    assert re.search(r"^ana\s+security-officer,observer\s+last login never$", listed.output, re.M)
    changed = _sild("gateway", "user", "passwd", str(directory), "ana", input="another password 1\n" * 2)
    assert changed.exit_code == 0 and "sessions have ended" in changed.output
    piped = _sild("gateway", "user", "add", str(directory), "cy", "--role", "observer", "--password-stdin",
                  input=f"{PASSWORD}\n")
    assert piped.exit_code == 0 and "Password" not in piped.output
    unknown = _sild("gateway", "user", "passwd", str(directory), "nobody")
    assert unknown.exit_code == 1 and "[trust.accounts.unknown]" in unknown.output
    assert _sild("gateway", "user", "remove", str(directory), "ana").exit_code == 0
    assert _sild("gateway", "user", "list", str(directory)).output.startswith("cy ")
    audit = _sild("gateway", "audit", str(directory))
    assert "gateway user add" in audit.output and "gateway user remove" in audit.output
    assert PASSWORD not in audit.output
    outside = _sild("gateway", "user", "list", str(tmp_path / "nowhere"))
    assert outside.exit_code == 1 and "is not a gateway directory" in outside.output


def test_an_unexpected_failure_is_a_page_naming_only_a_correlation_id(app: Any, monkeypatch: Any) -> None:
    from gateway.admin.ui import _dashboard

    def broken(now: float) -> None:
        raise RuntimeError("secret detail /etc/shadow")

    monkeypatch.setattr(_dashboard, "traffic_last_hour", broken)
    client = app.test_client()
    login(client, "olga")
    answer = client.get(f"{BASE}/ui/")
    assert answer.status_code == 500 and answer.content_type.startswith("text/html")
    assert "gateway.admin.internal_error" in answer.text and "logged under" in answer.text
    assert "secret detail" not in answer.text
