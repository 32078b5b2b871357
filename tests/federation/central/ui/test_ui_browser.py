"""The authority's admin UI in a real browser: Chromium (Debian's) driven by Playwright against
``sild central serve --api-port`` processes, the UI on the HTTPS management port.

One authority (EE) with accounts made by ``sild central user add``, and a second one
(LV) whose external anchor EE's security officer trusts through the UI. The flows are
the operators' own: sign in per role, add a member, approve a gateway's registration
request (signed with a real CA's certificates by the test helpers) after seeing its
signatures verified, add a CA, create and activate a signing key, trust a partner's
anchor after comparing fingerprints, a role refusal, a CSRF refusal, logout. With
``SILD_SCREENSHOTS=DIR`` the main pages are saved there as ``central-*.png``
(``docs/ui/`` holds the ones the docs show).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from federation.anchor import anchor_fingerprint, parse_anchor
from federation.central.registry import CentralDir, build_anchor, init_central
from trust.protocol import MemberId

from tests.federation.central.central_support import (
    PIN, PROJECT_ROOT, CentralProcess, GatewayPki, free_port, sild_env, wait_for,
)

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): the authority UI's browser tests need it",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed in the venv")

pytestmark = pytest.mark.slow

PASSWORD = "a long enough password"
TAX = MemberId("EE", "GOV", "70000001")
USERS = {"reg": "registration-officer", "sec": "security-officer", "sys": "system-administrator", "obs": "observer"}


def _utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _user_add(directory: Path, name: str, role: str) -> None:
    done = subprocess.run([sys.executable, "-c", "from gateway.cli import main; main()", "central", "user", "add",
                           str(directory), name, "--role", role, "--password-stdin"], input=PASSWORD + "\n",
                          cwd=PROJECT_ROOT, env=sild_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"user {name} added" in done.stdout


class Authority:
    """One ``sild central serve`` with the management API (and the UI) on an HTTPS port of its own."""

    def __init__(self, directory: Path, instance: str) -> None:
        self.port, self.api_port = free_port(), free_port()
        self.directory = directory
        init_central(str(directory), instance=instance, url=f"http://127.0.0.1:{self.port}", pin=PIN, now=_utc())
        self.process: CentralProcess | None = None
        self.ui = f"https://127.0.0.1:{self.api_port}/ui"

    def start(self) -> "Authority":
        self.process = CentralProcess(self.directory, self.port, check_interval=0.3,
                                      extra=("--api-port", str(self.api_port))).wait_ready()

        def ui_up() -> bool:
            try:
                return httpx.get(self.ui + "/login", verify=False, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ui_up, what="the UI on the management port")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("ui")
    ee, lv = Authority(base / "ee", "EE"), Authority(base / "lv", "LV")
    for name, role in USERS.items():
        _user_add(ee.directory, name, role)
    pki = GatewayPki(base / "pki", "EE", _utc())
    (base / "ca.der").write_bytes(pki.der(pki.ca.root_cert))
    (base / "ocsp.der").write_bytes(pki.ca.ocsp_cert.public_bytes(serialization.Encoding.DER))
    ee.start()
    lv.start()
    try:
        yield {"ee": ee, "lv": lv, "pki": pki, "base": base}
    finally:
        ee.stop()
        lv.stop()
        pki.close()


@pytest.fixture(scope="module")
def browser(world: dict[str, Any]) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("SILD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"central-{name}.png"), full_page=True)


def signed_in(browser: Any, world: dict[str, Any], user: str, *, screenshot: bool = False) -> Any:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # sild.js asks before destructive actions
    page.goto(world["ee"].ui + "/members")
    assert page.url.endswith("/ui/login")  # no session: the login page
    page.fill("#f-username", user)
    page.fill("#f-password", PASSWORD)
    if screenshot:
        shot(page, "login")
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/ui/$"))
    assert f"Signed in as {user}" in page.inner_text("header")
    cookie = next(c for c in context.cookies() if c["name"] == "sild_central_session")
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Strict")
    return page


def notice(page: Any) -> str:
    return str(page.inner_text("p.notice"))


def test_a_registration_officer_adds_a_member_and_a_subsystem(browser: Any, world: dict[str, Any]) -> None:
    page = signed_in(browser, world, "reg", screenshot=True)
    page.click("nav >> text=Members")
    page.fill("#f-id", TAX.to_text())
    page.fill("#f-name", "Tax Board")
    page.click("#add-member button")
    assert "member EE/GOV/70000001 added" in notice(page)
    page.fill("#f-sub-id", TAX.subsystem("tax").to_text())
    page.fill("#f-sub-name", "Tax data")
    page.click("#add-subsystem button")
    assert "subsystem EE/GOV/70000001/tax added" in notice(page)
    page.fill("#f-id", TAX.to_text())
    page.fill("#f-name", "Tax Board")
    page.click("#add-member button")
    assert "federation.registry.duplicate_member" in page.inner_text("div.error")  # the API's code, in words
    page.goto(world["ee"].ui + "/members")
    shot(page, "members")
    assert "Tax data" in page.inner_text("table.data")


def test_a_security_officer_approves_a_ca_through_the_ui(browser: Any, world: dict[str, Any]) -> None:
    page = signed_in(browser, world, "sec")
    page.goto(world["ee"].ui + "/cas")
    page.fill("#f-name", "EE test CA")
    page.set_input_files("#f-certificate", str(world["base"] / "ca.der"))
    page.fill("#f-ocsp_url", "http://127.0.0.1:9/ocsp")
    page.set_input_files("#f-ocsp_certificate", str(world["base"] / "ocsp.der"))
    page.click("button:has-text('Add CA')")
    assert "certification authority EE test CA added" in notice(page)
    shot(page, "cas")


def test_a_gateways_registration_request_is_shown_verified_and_approved(browser: Any, world: dict[str, Any]) -> None:
    ee, pki = world["ee"], world["pki"]
    server = TAX.server("ss1")
    document, _auth = pki.request(server, clients=[TAX.subsystem("tax")], address="ss1.tax.ee")
    submitted = httpx.post(f"http://127.0.0.1:{ee.port}/api/v1/registration-requests", content=document,
                           headers={"Content-Type": "application/json"}, timeout=30)
    assert submitted.status_code == 202, submitted.text
    page = signed_in(browser, world, "reg")
    page.click("nav >> text=Requests")
    page.click(f"text=Request {submitted.json()['id']}")
    assert "Verified" in page.inner_text("#signatures-verified")
    assert "70000001" in page.inner_text("dl.facts >> nth=1")  # the owner's sign certificate, named
    shot(page, "request")
    page.fill("#f-comment", "checked by phone")
    page.click("button:has-text('Approve')")
    assert "gateway EE/GOV/70000001/ss1 registered" in notice(page)
    assert "approved by reg" in page.inner_text("#request-status")
    page.click("nav >> text=Gateways")
    assert "ss1.tax.ee" in page.inner_text("table.data")
    shot(page, "gateways")


def test_a_security_officer_creates_and_activates_a_signing_key(browser: Any, world: dict[str, Any]) -> None:
    page = signed_in(browser, world, "sec")
    page.click("nav >> text=Signing keys")
    before = page.locator("#signing-keys tbody tr").count()
    page.select_option("#f-kind", "internal")
    page.click("#create-key button")
    created = re.search(r"signing key (\S+) created", notice(page))
    assert created is not None and page.locator("#signing-keys tbody tr").count() == before + 1
    key_id = created.group(1)
    row = page.locator(f"#signing-keys tr[data-key='{key_id}']")
    assert row.locator(".status").inner_text() == "pending"
    row.locator("button:has-text('Activate')").click()  # data-confirm: the dialog is accepted
    assert "now signs the configuration" in notice(page)
    assert page.locator(f"#signing-keys tr[data-key='{key_id}'] .status").inner_text() == "active"
    fingerprint = page.locator("#own-anchors code.fingerprint").first.inner_text()
    with page.expect_download() as download:
        page.click("#download-internal")
    anchor = Path(download.value.path()).read_bytes()
    assert anchor_fingerprint(anchor) == fingerprint  # the file is the one whose fingerprint the page shows
    home = CentralDir(world["ee"].directory)
    try:
        active = [der for key, kind, status, der in home.registry().signing_keys() if key == key_id]
    finally:
        home.close()
    assert active and all(active[0] in source.verification_certs for source in parse_anchor(anchor).sources)
    shot(page, "keys")


def test_a_partners_anchor_is_trusted_after_its_fingerprint_is_confirmed(browser: Any, world: dict[str, Any]) -> None:
    lv_home = CentralDir(world["lv"].directory)
    anchor = build_anchor(lv_home, internal=False, now=_utc())
    lv_home.close()
    path = world["base"] / "lv-external.xml"
    path.write_bytes(anchor)
    page = signed_in(browser, world, "sec")
    page.click("nav >> text=Trusted anchors")
    page.set_input_files("#f-anchor", str(path))
    page.fill("#f-expected", anchor_fingerprint(anchor).lower().replace(":", ""))
    page.click("button:has-text('Show fingerprint')")
    assert page.inner_text("#anchor-fingerprint") == anchor_fingerprint(anchor)
    assert "matches the fingerprint you typed" in notice(page)
    shot(page, "anchor-confirm")
    page.click("button:has-text('trust LV')")
    assert "anchor of LV trusted" in notice(page)
    assert "LV" in page.inner_text("#trusted-anchors")
    page.set_input_files("#f-anchor", str(path))
    page.fill("#f-expected", "AB" * 28)
    page.click("button:has-text('Show fingerprint')")
    assert "expected" in page.inner_text("div.error")  # a different fingerprint stops at the first step
    page.goto(world["ee"].ui + "/anchors")
    shot(page, "anchors")


def test_roles_csrf_and_logout_in_the_browser(browser: Any, world: dict[str, Any]) -> None:
    page = signed_in(browser, world, "obs")
    assert "API keys" not in page.inner_text("nav")  # not offered
    page.goto(world["ee"].ui + "/api-keys")
    assert "ui.forbidden" in page.inner_text("div.error")
    page.goto(world["ee"].ui + "/configuration")
    assert page.locator("#generations tbody tr").count() >= 1
    shot(page, "configuration")
    officer = signed_in(browser, world, "reg")
    officer.goto(world["ee"].ui + "/members")
    officer.eval_on_selector("#add-member input[name=csrf_token]", "input => input.value = 'forged'")
    officer.fill("#f-id", "EE/GOV/70000009")
    officer.fill("#f-name", "Forged")
    officer.click("#add-member button")
    assert "ui.csrf" in officer.inner_text("div.error")
    officer.goto(world["ee"].ui + "/members")
    assert "70000009" not in officer.inner_text("table.data")
    admin = signed_in(browser, world, "sys")
    admin.click("nav >> text=Audit log")
    audit = admin.inner_text("#audit")
    assert "POST /ui/members/add" in audit and "ui.csrf" in audit and "reg" in audit
    assert "anchor_sha224" in audit  # the trusted file is named by its fingerprint, not copied into the log
    shot(admin, "audit")
    admin.click("nav >> text=Dashboard")
    assert "Health: ok" in admin.inner_text("#health") and "LV" in admin.inner_text("dl.facts")
    shot(admin, "dashboard")
    admin.click("button:has-text('Log out')")
    admin.wait_for_url(re.compile(r".*/ui/login$"))
    admin.goto(world["ee"].ui + "/audit")
    assert admin.url.endswith("/ui/login")
