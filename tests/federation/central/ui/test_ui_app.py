"""The authority's admin UI through Flask's test client over https://: sign-in, roles, CSRF, audit, API codes.

The browser tests (test_ui_browser.py) drive the same pages in Chromium against a
running ``sild central serve``; these check the rules without a browser, fast.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from federation.central.api import CentralAppConfig, create_app
from federation.central.registry import CentralDir, init_central
from federation.central.ui import install_ui

from tests.federation.central.central_support import PIN

PASSWORD = "correct horse battery"
USERS = {"reg": ("registration-officer",), "sec": ("security-officer",), "sys": ("system-administrator",),
         "obs": ("observer",)}


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("SILD_TOKEN_PIN", PIN)
    init_central(str(tmp_path / "ee"), instance="EE", url="http://127.0.0.1:4000", pin=PIN,
                 now=dt.datetime.now(dt.timezone.utc))
    from federation.central._cli_users import accounts_of

    for name, roles in USERS.items():
        accounts_of(tmp_path / "ee").add_user(name, PASSWORD, roles)
    flask_app = create_app(CentralAppConfig(directory=tmp_path / "ee"))
    install_ui(flask_app)
    yield flask_app
    flask_app.extensions["sild.central"]["home"].close()


def _csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1).decode()


def login(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/ui/login", base_url="https://localhost")
    answer = client.post("/ui/login", base_url="https://localhost",
                         data={"csrf_token": _csrf(page.data), "username": name, "password": PASSWORD})
    assert answer.status_code == 302, answer.data
    cookie = answer.headers.getlist("Set-Cookie")
    assert any("sild_central_session=" in c and "Secure" in c and "HttpOnly" in c and "SameSite=Strict" in c
               for c in cookie), cookie
    return client


def get(client: FlaskClient, path: str):  # type: ignore[no-untyped-def]
    return client.get(path, base_url="https://localhost")


def post(client: FlaskClient, path: str, data: dict[str, str], page: str = "/ui/"):  # type: ignore[no-untyped-def]
    token = _csrf(get(client, page).data)
    return client.post(path, base_url="https://localhost", data={"csrf_token": token, **data})


def audit_rows(app: Flask) -> list[tuple[str, str, str, str]]:
    from federation.central.registry import AuditRow
    from trust.infra import AuditLog

    log = AuditLog(app.extensions["sild.central"]["context"].registry.engine, AuditRow.__table__)
    return [(r.channel, r.actor, r.operation, r.outcome) for r in reversed(log.entries())]


def test_without_a_session_every_page_leads_to_the_login(app: Flask) -> None:
    client = app.test_client()
    assert get(client, "/").headers["Location"].endswith("/ui/")
    answer = get(client, "/ui/members")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/ui/login")


def test_a_registration_officer_adds_a_member_and_the_audit_log_names_the_ui_user(app: Flask) -> None:
    client = login(app, "reg")
    answer = post(client, "/ui/members/add", {"id": "EE/GOV/70000001", "name": "Tax Board"}, "/ui/members")
    assert answer.status_code == 200 and b"member EE/GOV/70000001 added" in answer.data
    assert b"Tax Board" in get(client, "/ui/members?q=tax").data
    again = post(client, "/ui/members/add", {"id": "EE/GOV/70000001", "name": "Tax Board"}, "/ui/members")
    assert again.status_code == 409 and b"Error code: <code>federation.registry.duplicate" in again.data
    assert b'value="EE/GOV/70000001"' in again.data  # the form keeps what was typed
    rows = audit_rows(app)
    assert ("ui", "reg", "POST /ui/login", "ok") in rows
    assert ("ui", "reg", "POST /ui/members/add", "ok") in rows
    assert ("ui", "reg", "POST /ui/members/add", "federation.registry.duplicate_member") in rows
    assert not [r for r in rows if r[0] == "api"]  # recorded once, as the UI user


def test_roles_gate_pages_and_actions(app: Flask) -> None:
    observer = login(app, "obs")
    assert get(observer, "/ui/members").status_code == 200
    assert b"Add a member" not in get(observer, "/ui/members").data
    refused = post(observer, "/ui/members/add", {"id": "EE/GOV/70000002", "name": "X"}, "/ui/members")
    assert refused.status_code == 403 and b"ui.forbidden" in refused.data
    assert get(observer, "/ui/api-keys").status_code == 403
    assert get(observer, "/ui/audit").status_code == 403
    officer = login(app, "sec")
    assert b"Create a signing key" in get(officer, "/ui/keys").data
    assert post(officer, "/ui/members/add", {"id": "EE/GOV/70000002", "name": "X"}).status_code == 403
    assert get(officer, "/ui/audit").status_code == 200
    assert ("ui", "obs", "POST /ui/members/add", "ui.forbidden") in audit_rows(app)


def test_a_post_without_the_sessions_csrf_token_is_refused(app: Flask) -> None:
    client = login(app, "reg")
    answer = client.post("/ui/members/add", base_url="https://localhost",
                         data={"csrf_token": "forged", "id": "EE/GOV/70000003", "name": "Forged"})
    assert answer.status_code == 403 and b"ui.csrf" in answer.data
    assert b"70000003" not in get(client, "/ui/members").data
    assert ("ui", "reg", "POST /ui/members/add", "ui.csrf") in audit_rows(app)


def test_logout_ends_the_session(app: Flask) -> None:
    client = login(app, "obs")
    assert post(client, "/ui/logout", {}).headers["Location"].endswith("/ui/login")
    assert get(client, "/ui/members").status_code == 302


def test_a_wrong_password_is_refused_with_one_message(app: Flask) -> None:
    client = app.test_client()
    page = get(client, "/ui/login")
    answer = client.post("/ui/login", base_url="https://localhost",
                         data={"csrf_token": _csrf(page.data), "username": "reg", "password": "wrong password!"})
    assert answer.status_code == 401 and b"trust.accounts.login_refused" in answer.data
    assert ("ui", "reg", "POST /ui/login", "trust.accounts.login_refused") in audit_rows(app)


def test_removal_asks_first_and_identifier_errors_carry_the_api_code(app: Flask) -> None:
    client = login(app, "reg")
    post(client, "/ui/members/add", {"id": "EE/GOV/70000004", "name": "Soon gone"}, "/ui/members")
    question = get(client, "/ui/members/EE/GOV/70000004/remove")
    assert b"Remove member EE/GOV/70000004?" in question.data and b'name="confirmed" value="yes"' in question.data
    assert b"Soon gone" in get(client, "/ui/members").data
    gone = post(client, "/ui/members/EE/GOV/70000004/remove", {"confirmed": "yes"})
    assert b"member EE/GOV/70000004 removed" in gone.data
    bad = post(client, "/ui/members/add", {"id": "not-an-id", "name": "X"})
    assert bad.status_code == 400 and b"api.invalid_identifier" in bad.data
    unknown_class = post(client, "/ui/members/add", {"id": "EE/EDU/1", "name": "School"})
    assert unknown_class.status_code == 400 and b"Error code:" in unknown_class.data
    made = post(client, "/ui/member-classes/add", {"code": "EDU", "description": "Education"}, "/ui/members")
    assert b"member class EDU added" in made.data and b"classes: COM, EDU, GOV" in made.data
    assert b"member EE/EDU/1 added" in post(client, "/ui/members/add", {"id": "EE/EDU/1", "name": "School"}).data


def test_every_page_renders_for_the_role_that_may_open_it(app: Flask) -> None:
    pages = {"obs": ["/ui/", "/ui/members", "/ui/gateways", "/ui/requests?status=all", "/ui/groups", "/ui/cas",
                     "/ui/tsas", "/ui/keys", "/ui/anchors", "/ui/configuration"],
             "sec": ["/ui/audit"], "sys": ["/ui/api-keys", "/ui/audit"]}
    for user, paths in pages.items():
        client = login(app, user)
        for path in paths:
            answer = get(client, path)
            assert answer.status_code == 200, (user, path, answer.data[:300])
    anchor = get(login(app, "obs"), "/ui/anchors/own/internal")
    assert anchor.headers["Content-Type"].startswith("application/xml") and "X-Anchor-Fingerprint" in anchor.headers


def test_a_system_administrator_creates_an_api_key_shown_once(app: Flask) -> None:
    client = login(app, "sys")
    made = post(client, "/ui/api-keys/add", {"name": "robot", "roles": "registration-officer"}, "/ui/api-keys")
    key = re.search(rb'<code id="new-key">([^<]+)</code>', made.data)
    assert key is not None
    assert key.group(1) not in get(client, "/ui/api-keys").data
    assert key.group(1) not in str(audit_rows(app)).encode()


def _sild_input(*args: str, stdin: str) -> "subprocess.CompletedProcess[str]":
    import subprocess
    import sys

    from tests.federation.central.central_support import PROJECT_ROOT, sild_env

    return subprocess.run([sys.executable, "-c", "from gateway.cli import main; main()", *args], input=stdin,
                          cwd=PROJECT_ROOT, env=sild_env(), capture_output=True, text=True, timeout=120)


def test_user_commands_add_list_passwd_remove(tmp_path: Path) -> None:
    from tests.federation.central.central_support import sild

    directory = tmp_path / "ee"
    init_central(str(directory), instance="EE", url="http://127.0.0.1:4000", pin=PIN,
                 now=dt.datetime.now(dt.timezone.utc))
    short = _sild_input("central", "user", "add", str(directory), "ann", "--role", "observer", "--password-stdin",
                        stdin="short\n")
    assert short.returncode != 0 and "sild: error:" in short.stderr and "12" in short.stderr  # one line, says why
    made = _sild_input("central", "user", "add", str(directory), "ann", "--role", "observer", "--role",
                       "security-officer", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    name, roles, state, last = sild("central", "user", "list", str(directory)).stdout.strip().split("\t")
    assert (name, set(roles.split(",")), state, last) == ("ann", {"observer", "security-officer"}, "enabled",
                                                          "last login never")
    changed = _sild_input("central", "user", "passwd", str(directory), "ann", "--password-stdin",
                          stdin="another long password\n")
    assert changed.returncode == 0 and "sessions have ended" in changed.stdout
    from federation.central._cli_users import accounts_of
    from trust.accounts import LoginRefused

    accounts = accounts_of(directory)
    with pytest.raises(LoginRefused):
        accounts.login("ann", PASSWORD, "127.0.0.1")
    assert accounts.login("ann", "another long password", "127.0.0.1").session.user.name == "ann"
    assert "user ann removed" in sild("central", "user", "remove", str(directory), "ann").stdout
    gone = sild("central", "user", "remove", str(directory), "ann", check=False)
    assert gone.returncode != 0 and "trust.accounts" not in gone.stdout and "ann" in gone.stderr
    audit = sild("central", "audit", str(directory)).stdout
    assert "central user add" in audit and PASSWORD not in audit and "another long password" not in audit


def test_groups_are_edited_by_registration_officers(app: Flask) -> None:
    client = login(app, "reg")
    post(client, "/ui/members/add", {"id": "EE/GOV/70000005", "name": "Registry"}, "/ui/members")
    made = post(client, "/ui/groups/add", {"code": "readers", "description": "May read"}, "/ui/groups")
    assert b"global group readers added" in made.data
    added = post(client, "/ui/groups/readers/members/add", {"client": "EE/GOV/70000005"}, "/ui/groups")
    assert b"EE/GOV/70000005 added to readers" in added.data
    unknown = post(client, "/ui/groups/readers/members/add", {"client": "EE/GOV/79999999"}, "/ui/groups")
    assert unknown.status_code == 404 and b"Error code:" in unknown.data
    gone = post(client, "/ui/groups/readers/members/EE/GOV/70000005/remove", {"confirmed": "yes"}, "/ui/groups")
    assert b"EE/GOV/70000005 removed from readers" in gone.data
    removed = post(client, "/ui/groups/readers/remove", {"confirmed": "yes"}, "/ui/groups")
    assert b"global group readers removed" in removed.data and b"<code>readers</code>" not in removed.data


def test_a_system_administrator_downloads_an_encrypted_backup(app: Flask) -> None:
    client = login(app, "sys")
    answer = post(client, "/ui/backup", {"passphrase": "backup passphrase"}, "/ui/backup")
    assert answer.status_code == 200, answer.data[:300]
    assert answer.headers["Content-Disposition"].endswith('.bak"') and len(answer.data) == int(answer.headers["Content-Length"])
    assert b"backup passphrase" not in answer.data
    rows = audit_rows(app)
    assert ("ui", "sys", "POST /ui/backup", "ok") in rows
    from federation.central.registry import AuditRow
    from trust.infra import AuditLog

    log = AuditLog(app.extensions["sild.central"]["context"].registry.engine, AuditRow.__table__)
    backup = next(r for r in log.entries() if r.operation == "POST /ui/backup")
    assert '"passphrase": "[redacted]"' in backup.params and "backup passphrase" not in backup.params
    assert post(login(app, "reg"), "/ui/backup", {}).status_code == 403


def test_settings_change_all_or_nothing_with_the_registrys_codes(app: Flask) -> None:
    client = login(app, "sec")
    page = get(client, "/ui/settings").data
    current = dict(re.findall(rb'name="s-([A-Za-z]+)" value="([^"]*)"', page))
    assert b"confExpireIntervalSeconds" in current
    form = {f"s-{k.decode()}": v.decode() for k, v in current.items()}
    bad = post(client, "/ui/settings", {**form, "s-confExpireIntervalSeconds": "5"}, "/ui/settings")
    assert bad.status_code == 400 and b"at least 30" in bad.data
    good = post(client, "/ui/settings", {**form, "s-confExpireIntervalSeconds": "1200"}, "/ui/settings")
    assert b"changed: confExpireIntervalSeconds" in good.data and b'value="1200"' in good.data
    assert post(login(app, "reg"), "/ui/settings", form).status_code == 403


def test_a_gateway_goes_into_maintenance_and_is_removed_after_confirmation(app: Flask) -> None:
    from trust.protocol import MemberId

    registry = app.extensions["sild.central"]["context"].registry
    owner = MemberId("EE", "GOV", "70000006")
    registry.add_member(owner, "Owner")
    registry.add_gateway(owner.server("gw9"), address="gw9.example")
    client = login(app, "reg")
    on = post(client, "/ui/gateways/EE/GOV/70000006/gw9/maintenance", {"enabled": "yes", "message": "moving"},
              "/ui/gateways")
    assert b"is in maintenance mode" in on.data and b"yes: moving" in on.data
    assert registry.gateways()[0]["inMaintenanceMode"] is True
    assert b"Remove gateway EE/GOV/70000006/gw9?" in get(client, "/ui/gateways/EE/GOV/70000006/gw9/remove").data
    gone = post(client, "/ui/gateways/EE/GOV/70000006/gw9/remove", {"confirmed": "yes"}, "/ui/gateways")
    assert b"gateway EE/GOV/70000006/gw9 removed" in gone.data and registry.gateways() == []


def test_an_internal_failure_is_shown_without_its_cause(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from trust.errors import SildError

    registry = app.extensions["sild.central"]["context"].registry

    def broken(*_args: object) -> None:
        raise SildError("/srv/secret/path is unreadable", code="federation.discovery.broken")

    monkeypatch.setattr(registry, "add_member", broken)
    answer = post(login(app, "reg"), "/ui/members/add", {"id": "EE/GOV/70000007", "name": "X"}, "/ui/members")
    assert answer.status_code == 500 and b"internal error; see the authority" in answer.data
    assert b"/srv/secret" not in answer.data and b"federation.discovery.broken" in answer.data
    assert ("ui", "reg", "POST /ui/members/add", "federation.discovery.broken") in audit_rows(app)


def _self_signed_der(name: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def test_a_security_officer_adds_and_removes_a_tsa_from_its_certificate_file(app: Flask) -> None:
    import io

    client = login(app, "sec")
    token = _csrf(get(client, "/ui/tsas").data)
    added = client.post("/ui/tsas/add", base_url="https://localhost", content_type="multipart/form-data", data={
        "csrf_token": token, "name": "EE TSA", "url": "http://tsa.example/tsa",
        "certificate": (io.BytesIO(_self_signed_der("EE TSA")), "tsa.der")})
    assert b"timestamping service EE TSA added" in added.data and b"http://tsa.example/tsa" in added.data
    token = _csrf(get(client, "/ui/tsas").data)
    garbage = client.post("/ui/tsas/add", base_url="https://localhost", content_type="multipart/form-data", data={
        "csrf_token": token, "name": "Bad TSA", "url": "http://tsa.example/bad",
        "certificate": (io.BytesIO(b"not a certificate"), "bad.pem")})
    assert garbage.status_code == 400 and b"Error code:" in garbage.data
    assert ("ui", "sec", "POST /ui/tsas/add", "ok") in audit_rows(app)
    gone = post(client, "/ui/tsas/EE TSA/remove", {"confirmed": "yes"}, "/ui/tsas")
    assert b"timestamping service EE TSA removed" in gone.data


def test_long_member_lists_are_paged_and_filtered(app: Flask) -> None:
    from trust.protocol import MemberId

    registry = app.extensions["sild.central"]["context"].registry
    for n in range(30):
        registry.add_member(MemberId("EE", "COM", f"{10000000 + n}"), f"Company {n}")
    client = login(app, "obs")
    first = get(client, "/ui/members").data
    assert b"Page 1 of 2 (30 rows)" in first and b"Company 24<" in first and b"Company 25<" not in first
    second = get(client, "/ui/members?q=&page=2").data
    assert b"Company 29<" in second and b"Company 0<" not in second
    one = get(client, "/ui/members?q=company+7").data
    assert b"Page 1 of 1 (3 rows)" in one and b"Company 7<" in one and b"Company 27<" in one  # 7, 17, 27
    assert b"Company 8<" not in one


def test_the_ui_is_served_where_the_management_api_is(tmp_path: Path) -> None:
    import threading

    import httpx

    from federation.central._node import CentralNode, NodeConfig

    directory = tmp_path / "ee"
    init_central(str(directory), instance="EE", url="http://127.0.0.1:4000", pin=PIN,
                 now=dt.datetime.now(dt.timezone.utc))
    for api_port in (None, 0):
        node = CentralNode(NodeConfig(directory=directory, port=0, pin=PIN, check_interval=5, api_port=api_port))
        node.start()
        thread = threading.Thread(target=node.serve_forever, daemon=True)
        thread.start()
        try:
            main = httpx.get(f"http://127.0.0.1:{node.port}/ui/login", trust_env=False, timeout=10)
            if api_port is None:  # the management API on the main port: the UI too
                assert main.status_code == 200 and b"Log in" in main.content
            else:  # on the HTTPS port of its own, and only there
                assert main.status_code == 404
                assert node.api_url is not None
                ui = httpx.get(node.api_url + "/", verify=False, trust_env=False, timeout=10, follow_redirects=True)
                assert ui.status_code == 200 and str(ui.url).endswith("/ui/login") and b"Log in" in ui.content
        finally:
            node.stop()
            thread.join(timeout=10)
