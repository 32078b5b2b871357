"""The sandbox is a place to work in: admin APIs with printed keys, REST services with
OpenAPI descriptions, one node restarted after an edit, a gateway restarted by hand
stopped by ``down``, and ``up`` starting the same sandbox again with its data.

One sandbox for the module (the tests run in file order and build on each other).
"""

from __future__ import annotations

import json
import os
import re
import ssl
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from trust.protocol._openapi import cut_server_url

from gateway.node import sild_command
from gateway.sandbox import sild_program
from gateway.sandbox._pids import alive
from gateway.sandbox._ports import reserve_port

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

TAX = "EE/GOV/70000001/tax"
TAX_GW = "EE/GOV/70000001/gw1"


def _sild(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sild_command(*args), capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("workplace") / "sandbox"
    up = _sild("sandbox", "up", str(root), "--owner-pid", str(os.getpid()))
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        yield root, up.stdout
    finally:
        down = _sild("sandbox", "down", str(root))
        assert down.returncode == 0, down.stderr


def _state(root: Path) -> dict:
    return json.loads((root / "sandbox.json").read_text())


def _gateway(root: Path, ident: str) -> dict:
    return next(g for g in _state(root)["gateways"] if g["id"] == ident)


def _get(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=30, trust_env=False)


def _admin_get(gateway: dict, path: str, **headers: str) -> httpx.Response:
    """The admin API over HTTPS, trusting the gateway's own admin certificate (as the docs' curl does)."""
    verify = ssl.create_default_context(cafile=gateway["admin_cert_file"])
    return httpx.get(gateway["admin_url"] + path, headers=headers, timeout=30, trust_env=False, verify=verify)


def test_every_gateways_admin_api_answers_the_key_up_printed(sandbox):
    root, printed = sandbox
    for gateway in _state(root)["gateways"]:
        key = Path(gateway["admin_key_file"]).read_text().strip()
        assert f"admin API {gateway['admin_url']}  key {key}  (in {gateway['admin_key_file']})" in printed
        assert gateway["admin_url"].startswith("https://127.0.0.1:")
        assert f"admin API certificate (curl --cacert) {gateway['admin_cert_file']}" in printed
        status = _admin_get(gateway, "/api/v1/status", Authorization=f"Bearer {key}")
        assert status.status_code == 200 and status.json()["security_server"] == gateway["id"]
        assert _admin_get(gateway, "/api/v1/status").status_code == 401
    assert oct(Path(gateway["admin_key_file"]).stat().st_mode & 0o777) == "0o600"


def _ui_login(ui_url: str, cert_file: str, user: str, password: str) -> tuple[httpx.Response, httpx.Response]:
    """Sign in as a browser would (the login form's CSRF token, its cookie kept over HTTPS);
    returns the login's answer and the UI's front page read in the same session."""
    verify = ssl.create_default_context(cafile=cert_file)
    with httpx.Client(verify=verify, timeout=60, trust_env=False) as client:
        form = client.get(ui_url + "login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert form.status_code == 200 and token, form.text[:500]
        answer = client.post(ui_url + "login", data={"username": user, "password": password,
                                                     "csrf_token": token.group(1)})
        return answer, client.get(ui_url, follow_redirects=True)


def test_up_prints_each_ui_with_a_sandbox_user_whose_password_signs_in(sandbox):
    root, printed = sandbox
    state = _state(root)
    login = re.search(r"UI login \(every UI above; self-signed certificates\): user (\S+)  password (\S+)", printed)
    assert login, printed
    user, password = login.groups()
    assert (user, password) == (state["ui"]["user"], state["ui"]["password"]) and user == "sandbox-admin"
    assert len(password) >= 12
    gateway = _gateway(root, TAX_GW)
    authority = state["instances"]["EE"]
    assert f"admin UI {gateway['ui_url']}" in printed and gateway["ui_url"] == gateway["admin_url"] + "/ui/"
    assert f"EE: authority UI {authority['ui_url']}  (management API {authority['api_url']})" in printed
    assert authority["ui_url"].startswith("https://127.0.0.1:")
    for url, cert in ((gateway["ui_url"], gateway["admin_cert_file"]), (authority["ui_url"], authority["api_cert_file"])):
        answer, front = _ui_login(url, cert, user, password)
        assert answer.status_code in (302, 303), (url, answer.status_code, answer.text[:500])
        assert front.status_code == 200 and "Signed in as <strong>sandbox-admin</strong>" in front.text, url
        refused, front = _ui_login(url, cert, user, "not-the-" + password)  # the password is what signs in
        assert refused.status_code != 303 and "Signed in as" not in front.text, url


CHROMIUM = Path("/usr/bin/chromium")


def _signed_in(browser, ui_url: str, login: dict) -> object:
    """A fresh browser context signed in to the UI at ``ui_url`` with the sandbox's login."""
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the UIs' script asks before some actions
    page.goto(ui_url)
    page.get_by_label("User name").fill(login["user"])
    page.get_by_label("Password").fill(login["password"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(ui_url)
    return page


def test_a_client_registered_in_the_gateway_ui_is_approved_in_the_authority_ui_and_shown_registered(sandbox):
    """The cross-role flow of the two UIs in a real browser: the gateway's registration officer
    adds and registers a client, the authority's approves the signed request, and the gateway's
    UI shows the client registered once its configuration lists it."""
    if not CHROMIUM.exists():
        pytest.skip(f"the UIs' browser tests need Chromium ({CHROMIUM}; `make tools` installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the UIs' browser tests need playwright")
    root, _ = sandbox
    state = _state(root)
    gateway, authority, client = _gateway(root, TAX_GW), state["instances"]["EE"], "EE/GOV/70000001/uiclient"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            gw = _signed_in(browser, gateway["ui_url"], state["ui"])
            gw.goto(gateway["ui_url"] + "clients")
            gw.get_by_label("Client identifier").fill(client)
            gw.get_by_role("button", name="Add client").click()
            assert f"Client {client} added" in gw.inner_text(".notice")
            gw.locator("tr", has_text=client).get_by_role("button", name="Register").click()
            assert "sent to the authority" in gw.inner_text(".notice")
            assert "REGISTRATION_IN_PROGRESS" in gw.locator("tr", has_text=client).inner_text()

            central = _signed_in(browser, authority["ui_url"], state["ui"])
            central.goto(authority["ui_url"] + "requests")
            central.locator("tr", has_text=client).get_by_role("link", name=re.compile("^Request ")).click()
            assert "Verified" in central.inner_text("#signatures-verified")
            central.fill("#f-comment", "approved in the authority's UI")
            central.click("button:has-text('Approve')")
            assert f"approved by {state['ui']['user']}" in central.inner_text("#request-status")

            deadline = time.monotonic() + 180  # the authority publishes, then the gateway downloads
            while True:
                gw.goto(gateway["ui_url"] + "clients")
                gw.get_by_role("button", name="Check the authority's decisions").click()
                row = gw.locator("tr", has_text=client).inner_text()
                if "REGISTRATION_IN_PROGRESS" not in row:
                    break
                assert time.monotonic() < deadline, gw.inner_text(".notice")
                time.sleep(2)
            assert "REGISTERED" in row and f"{client}: registered" in gw.inner_text(".notice")

            # the gateway's own registration request from its UI (what `sild gateway register` sends)
            gw.goto(gateway["ui_url"] + "clients")
            gw.get_by_role("button", name="Register this gateway").click()
            assert "The registration request (to the known authority) was sent" in gw.inner_text(".notice")
            central.goto(authority["ui_url"] + "requests")
            assert central.locator("tr", has_text="authCertReg").filter(has_text=TAX_GW).count() >= 1
        finally:
            browser.close()


@pytest.mark.parametrize(("provider", "code", "path", "client"), [
    ("FI/GOV/0245437-2/vero", "income", "/rest/income", TAX),
    ("FI/GOV/0242431-1/dvv", "residents", "/residents", TAX),
    ("EE/GOV/70000002/population", "persons", "/rest/persons", "FI/GOV/0245437-2/vero"),
])
def test_get_openapi_answers_each_rest_service_description(sandbox, provider, code, path, client):
    root, _ = sandbox
    gateway = next(g["is_url"] for g in _state(root)["gateways"] if client in g["clients"])
    answer = _get(f"{gateway}/r1/{provider}/getOpenAPI?serviceCode={code}", **{"X-Road-Client": client})
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["openapi"].startswith("3.0")
    assert "/{personCode}" in document["paths"]  # relative to the service: /r1/{provider}/{code}/{personCode}
    assert [cut_server_url(s["url"]) for s in document["servers"]] == [path]
    assert "127.0.0.1" not in answer.text  # no backend address reaches a client (issue 15)
    called = _get(f"{gateway}/r1/{provider}/{code}/{'39001011237' if code == 'persons' else '010190-123M'}",
                  **{"X-Road-Client": client})
    assert called.status_code == 200, called.text


def test_one_node_restarts_after_its_settings_were_edited(sandbox):
    root, _ = sandbox
    directory = Path(_gateway(root, TAX_GW)["directory"])
    settings = json.loads((directory / "gateway.json").read_text())
    settings["is_port"] = port = reserve_port()
    (directory / "gateway.json").write_text(json.dumps(settings))
    restarted = _sild("sandbox", "restart", str(root), TAX_GW)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert f"IS http://127.0.0.1:{port}" in restarted.stdout
    assert _gateway(root, TAX_GW)["is_url"] == f"http://127.0.0.1:{port}"
    answer = _get(f"http://127.0.0.1:{port}/r1/FI/GOV/0245437-2/vero/income/010190-123M", **{"X-Road-Client": TAX})
    assert answer.status_code == 200, answer.text


def test_down_stops_a_gateway_restarted_by_hand_and_up_brings_the_sandbox_back(sandbox):
    root, _ = sandbox
    gateway = _gateway(root, TAX_GW)
    key = Path(gateway["admin_key_file"]).read_text().strip()
    recorded = json.loads((root / "pids" / f"{gateway['process']}.pid").read_text())["pid"]
    os.killpg(recorded, signal.SIGTERM)
    while alive(recorded):
        time.sleep(0.1)
    relative = Path(gateway["directory"]).relative_to(root)
    # as an operator types it in the sandbox's directory: the printed spelling, a relative path
    by_hand = subprocess.Popen(f"exec {sild_program(cwd=root)} gateway serve {relative}", shell=True, cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _get(gateway["is_url"] + "/listClients").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert by_hand.poll() is None, "the gateway started by hand did not come up"
        down = _sild("sandbox", "down", str(root))
        assert down.returncode == 0, down.stderr
        assert f"server-{by_hand.pid}" in down.stdout
        assert by_hand.wait(timeout=10) is not None
    finally:
        if by_hand.poll() is None:
            by_hand.kill()
    assert not (root / "sandbox.json").exists()
    again = _sild("sandbox", "up", str(root), "--owner-pid", str(os.getpid()))
    assert again.returncode == 0, again.stderr[-3000:]
    assert re.search(r"sandbox up in .* \(4 gateways\)", again.stdout)
    # the same data: the edited port, the admin key of the first start, the services
    assert _gateway(root, TAX_GW)["is_url"] == gateway["is_url"]
    status = _admin_get(gateway, "/api/v1/status", Authorization=f"Bearer {key}")
    assert status.status_code == 200
    answer = _get(gateway["is_url"] + "/r1/FI/GOV/0245437-2/vero/income/010190-123M", **{"X-Road-Client": TAX})
    assert answer.status_code == 200, answer.text
