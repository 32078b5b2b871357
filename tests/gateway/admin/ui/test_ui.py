"""The gateway's admin UI in Chromium: sign-in per role, refusals, CSRF, logout, and the main flows end to end.

Each test opens its own browser context (its own cookies) on gw1's admin port
(HTTPS) and acts as an operator would: through labels, buttons and links.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from gateway.admin import admin_client_context, admin_url
from gateway.serverconf import create_api_key
from trust.protocol import ServiceId, build_request

from tests.gateway._world import World
from tests.gateway.admin.ui.conftest import GW1, Ui, sild

pytestmark = pytest.mark.browser

POP_GW = "EE/GOV/70000002/gw1"
VERO_NS = "http://vero.sandbox.sild.eu/producer"


def nav(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("nav.side a").all_inner_texts()]


def error_box(page: Any) -> str:
    return " ".join(page.locator(".error").all_inner_texts())


def test_each_role_signs_in_and_is_offered_only_its_pages(ui: Ui) -> None:
    olga = ui.login("olga")
    assert "Healthy: traffic flows." in olga.inner_text("main")
    assert "Signed in as olga" in olga.inner_text("header")
    assert "Traffic, last hour" in olga.inner_text("main")  # the observer reads operational monitoring
    assert nav(olga) == ["Dashboard", "Clients", "Services", "Keys and certificates", "Anchor", "Message log",
                         "Traffic", "Audit log", "Settings"]
    ui.shot(olga, "dashboard")
    sven = ui.login("sven")
    assert nav(sven) == ["Dashboard", "Clients", "Services", "Keys and certificates", "Anchor", "Settings"]
    assert {"Backup", "API keys"} <= set(nav(ui.login("sysa"))) and "Backup" not in nav(olga)
    sven.goto(ui.url + "/keys")  # a page everyone may read, but without the security officer's forms
    assert sven.get_by_role("button", name="Generate key").count() == 0
    assert ui.login("sofia").get_by_role("link", name="Message log").count() == 1


def test_the_keyboard_reaches_the_content_and_every_input_has_a_label(ui: Ui) -> None:
    page = ui.login("sven")
    page.goto(ui.url + "/services")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#content"
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)""")
    assert unlabelled == []
    for name in ("sofia", "sysa", "reino", "sven"):  # every page each role opens
        other = ui.login(name)
        for link in nav(other):
            other.get_by_role("link", name=link, exact=True).click()
            missing = other.evaluate("""() => [...document.querySelectorAll(
                'input:not([type=hidden]), select, textarea')].filter(e => !(e.labels && e.labels.length))
                .map(e => e.name)""")
            assert missing == [], f"{link}: inputs without a label: {missing}"
            twice = other.evaluate("""() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
                return ids.filter((id, i) => ids.indexOf(id) !== i); }""")
            assert twice == [], f"{link}: ids used twice (a label would name the wrong input): {twice}"
    page.keyboard.press("Tab")  # the first control of the content, then the next by Tab alone
    first = page.evaluate("document.activeElement.id")
    page.keyboard.press("Tab")
    assert first == "f-client" and page.evaluate("document.activeElement.textContent") == "Show"


def test_a_role_without_the_right_is_refused_with_the_code(ui: Ui) -> None:
    sven = ui.login("sven")
    answer = sven.goto(ui.url + "/messagelog")
    assert answer.status == 403
    assert "gateway.admin.ui.forbidden" in error_box(sven) and "security officer" in error_box(sven)
    sven.goto(ui.url + "/clients")
    assert sven.get_by_role("button", name="Add client").count() == 0
    # a POST made by hand is refused just the same
    refused = sven.evaluate("""async () => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const form = new URLSearchParams({csrf_token: token, id: "EE/GOV/70000001/sneaky", is_auth: "http"});
        const r = await fetch("/ui/clients/add", {method: "POST", body: form});
        return r.status; }""")
    assert refused == 403
    sven.goto(ui.url + "/clients")
    assert "sneaky" not in sven.inner_text("main")


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_recorded(ui: Ui) -> None:
    reino = ui.login("reino")
    reino.goto(ui.url + "/clients")
    statuses = reino.evaluate("""async () => {
        const out = [];
        for (const token of [null, "0".repeat(64)]) {
            const form = new URLSearchParams({id: "EE/GOV/70000001/forged", is_auth: "http"});
            if (token) form.set("csrf_token", token);
            const r = await fetch("/ui/clients/add", {method: "POST", body: form});
            out.push([r.status, (await r.text()).includes("gateway.admin.ui.csrf")]);
        }
        return out; }""")
    assert statuses == [[403, True], [403, True]]
    reino.goto(ui.url + "/clients")
    assert "forged" not in reino.inner_text("main")
    olga = ui.login("olga")
    olga.goto(ui.url + "/audit?q=reino+csrf")
    assert olga.locator("table.data tbody tr").count() >= 2
    assert "gateway.admin.ui.csrf" in olga.inner_text("table.data")


def test_logout_ends_the_session_even_for_a_copied_cookie(ui: Ui) -> None:
    page = ui.login("olga")
    copied = page.context.cookies()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/ui/login$"))
    page.goto(ui.url + "/")
    assert page.url.startswith(ui.url + "/login")
    thief = ui.browser.new_context(ignore_https_errors=True)
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(ui.url + "/clients")
    assert stolen.url.startswith(ui.url + "/login?next=")


def test_a_wrong_password_is_refused_in_plain_words(ui: Ui) -> None:
    context = ui.browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(ui.url + "/login")
    page.get_by_label("User name").fill("olga")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Log in").click()
    assert "wrong user name or password" in error_box(page) and "trust.accounts.login_refused" in error_box(page)
    ui.shot(page, "login-refused")


def test_the_registration_officer_adds_a_client_and_deletes_it_after_confirming(ui: Ui) -> None:
    page = ui.login("reino")
    page.goto(ui.url + "/clients")
    page.get_by_label("Client identifier").fill("EE/GOV/70000001/archive")
    page.get_by_role("button", name="Add client").click()
    assert "Client EE/GOV/70000001/archive added" in page.inner_text(".notice")
    row = page.locator("tr", has_text="EE/GOV/70000001/archive")
    assert "SAVED" in row.inner_text()
    page.get_by_label("Client identifier").fill("EE/GOV/70000001/archive")
    page.get_by_role("button", name="Add client").click()
    assert "gateway.serverconf.already_exists" in error_box(page)
    ui.shot(page, "clients")
    page.goto(ui.url + "/clients?q=archive")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="EE/GOV/70000001/archive").get_by_role("link", name="Delete").click()
    page.wait_for_load_state()
    assert "deleted" in page.inner_text(".notice")
    assert "EE/GOV/70000001/archive" not in page.inner_text("table.data")


def _bank_calls_tax(world: World) -> httpx.Response:
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = "010190-123M"
    message = build_request(client=_bank(), service=ServiceId("EE", "GOV", "70000001", "tax", "getTaxRecord", "v1"),
                            query_id=f"ui-{time.time_ns()}", body=body, user_id="EE38001010000")
    return httpx.post(world.gateways[POP_GW].is_url + "/", content=message, timeout=30, trust_env=False,
                      headers={"Content-Type": "text/xml; charset=utf-8"})


def _bank() -> Any:
    from trust.protocol import parse_client

    return parse_client("EE/COM/10000003/bank")


def test_the_service_administrator_adds_a_wsdl_and_grants_a_right_and_the_exchange_then_succeeds(
        ui: Ui, world: World) -> None:
    before = _bank_calls_tax(world)
    assert before.status_code != 200  # TAX publishes no such service yet
    page = ui.login("sven")
    page.goto(ui.url + "/services?client=EE/GOV/70000001/tax")
    page.get_by_label("URL").fill(world.backends.urls["vero"] + "/wsdl")  # type: ignore[attr-defined]
    page.get_by_label("Enable its services at once").check()
    page.get_by_role("button", name="Add description").click()
    assert "added" in page.inner_text(".notice")
    assert "getTaxRecord" in page.locator("table.data").nth(1).inner_text()
    page.get_by_label("Service", exact=True).select_option("getTaxRecord")
    page.get_by_label("Subject").fill("EE/COM/10000003/bank")
    page.get_by_role("button", name="Grant").click()
    assert "may now call getTaxRecord" in page.inner_text(".notice")
    assert "SUBSYSTEM:EE/COM/10000003/bank" in page.locator("table.data").nth(2).inner_text()
    ui.shot(page, "services")
    deadline = time.monotonic() + 60
    while (answer := _bank_calls_tax(world)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(1)  # the running gateways take the change without a restart, within seconds
    assert answer.status_code == 200, answer.text
    assert b"getTaxRecordResponse" in answer.content


def test_the_security_officer_generates_a_sign_key_downloads_its_csr_and_deletes_it(ui: Ui) -> None:
    page = ui.login("sofia")
    page.goto(ui.url + "/keys")
    page.get_by_label("Usage").select_option("sign")
    page.get_by_label("Algorithm").select_option("ec-p256")
    page.get_by_label("Label", exact=True).fill("ui rotation")
    page.get_by_role("button", name="Generate key").click()
    notice = page.inner_text(".notice")
    key_id = re.search(r"Key (\S+) generated", notice).group(1)  # type: ignore[union-attr]
    row = page.locator("tr", has_text="ui rotation")
    ui.shot(page, "keys")
    with page.expect_download() as download:
        row.get_by_role("button", name="Download CSR").click()
    csr = Path(download.value.path()).read_text()
    assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    page.wait_for_load_state()
    assert f"The key {key_id} was deleted." in page.inner_text(".notice")
    assert "ui rotation" not in page.inner_text("main")


def test_the_observer_finds_an_exchange_and_downloads_evidence_that_sild_asic_verify_accepts(
        ui: Ui, world: World, tmp_path: Path) -> None:
    node = world.gateways[GW1]
    query_id = f"ui-evidence-{time.time_ns()}"
    answer = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M", trust_env=False, timeout=30,
                       headers={"X-Road-Client": "EE/GOV/70000001/tax", "X-Road-Id": query_id})
    assert answer.status_code == 200, answer.text
    assert node.timestamp_now() >= 2
    page = ui.login("olga")
    page.goto(ui.url + "/messagelog")
    page.get_by_label("Client").fill("GOV/70000001/tax")
    page.get_by_label("Service").fill("vero")
    page.get_by_role("button", name="Search").click()
    row = page.locator("tr", has_text=query_id).filter(has_text="request").first
    assert "yes" in row.inner_text()  # timestamped
    ui.shot(page, "messagelog")
    with page.expect_download() as download:
        row.get_by_role("link", name="Download ASiC-E").click()
    container = tmp_path / "exchange.asice"
    download.value.save_as(container)
    verified = sild("asic", "verify", str(container), "--conf", str(_verification_conf(world, tmp_path)))
    assert verified.exit_code == 0, verified.output
    assert "valid" in verified.output


def _verification_conf(world: World, base: Path) -> Path:
    """A verification configuration tree of the world's instances (what `sild asic verify --conf` reads)."""
    import dataclasses

    from federation.model import ConfigurationSource, write_shared_parameters
    from trust.pki import cert_der

    conf = base / "conf"
    for instance, shared in world.shared.items():
        (conf / instance).mkdir(parents=True)
        source = ConfigurationSource("127.0.0.1:1", (cert_der(world.cas[instance].root_cert),))  # never fetched
        document = write_shared_parameters(dataclasses.replace(shared, sources=(source,)))
        (conf / instance / "shared-params.xml").write_bytes(document)
        (conf / instance / "shared-params.xml.metadata").write_text('{"configurationVersion": "6"}')
    (conf / "instance-identifier").write_text("EE")
    return conf


def test_the_audit_log_shows_ui_actions_as_the_ui_users(ui: Ui, world: World) -> None:
    page = ui.login("sysa")
    page.goto(ui.url + "/audit?q=ui+login+sysa")
    assert "sysa" in page.locator("table.data tbody tr").first.inner_text()
    # the API's own view of the same log names the UI user on the ui channel
    _kid, secret = create_api_key(world.gateways[GW1].serverconf, ["auditor"], "ui test reader")
    entries = httpx.get(admin_url(ui.directory) + "/api/v1/audit", headers={"Authorization": f"Bearer {secret}"},
                        verify=admin_client_context(ui.directory), trust_env=False, timeout=30).json()["entries"]
    assert any(e["channel"] == "ui" and e["actor"] == "sysa" and e["operation"] == "ui login" for e in entries)
    ui.shot(page, "audit")


def test_an_anchor_is_shown_by_its_fingerprint_first_and_a_refusal_is_explained(ui: Ui, world: World,
                                                                               tmp_path: Path) -> None:
    from federation.anchor import anchor_fingerprint, write_anchor
    from federation.model import AnchorSource, ConfigurationAnchor
    from trust.pki import cert_der

    data = write_anchor(ConfigurationAnchor("EE", (AnchorSource(
        "http://127.0.0.1:9/internalconf", (cert_der(world.cas["EE"].root_cert),)),)))
    path = tmp_path / "anchor.xml"
    path.write_bytes(data)
    page = ui.login("sofia")
    page.goto(ui.url + "/anchor")
    assert "No anchor is installed yet." in page.inner_text("main")
    page.get_by_label("Anchor file (XML)").set_input_files(str(path))
    page.get_by_role("button", name="Show its fingerprint").click()
    assert page.inner_text("#new-fingerprint") == anchor_fingerprint(data)
    ui.shot(page, "anchor")
    page.get_by_role("button", name="The fingerprints match: install").click()
    # nothing answers at the anchor's source: the API refuses, in plain words, and nothing changes
    assert "gateway.anchor.refused" in error_box(page) and "127.0.0.1:9" in error_box(page)
    assert "No anchor is installed yet." in page.inner_text("main")
    assert not (world.gateways[GW1].directory / "anchor.xml").exists()


def test_the_system_administrator_changes_a_setting_live(ui: Ui, world: World) -> None:
    from gateway.settings import NodeSettings, federations_text

    directory = world.gateways[GW1].directory
    before = federations_text(NodeSettings.load(directory).allowed_federations)
    page = ui.login("sysa")
    page.goto(ui.url + "/settings")
    try:
        page.get_by_label("Setting").select_option("allowed_federations")
        page.get_by_label("New value").fill("FI")
        page.get_by_role("button", name="Change").click()
        assert "Setting allowed_federations changed to 'FI'; it is in effect now." in page.inner_text(".notice")
        assert NodeSettings.load(directory).allowed_federations == ("FI",)
        page.get_by_label("Setting").select_option("ocsp_interval_seconds")
        page.get_by_label("New value").fill("soon")
        page.get_by_role("button", name="Change").click()
        assert "gateway.setup.error" in error_box(page) and "wants a whole number" in error_box(page)
    finally:
        page.get_by_label("Setting").select_option("allowed_federations")
        page.get_by_label("New value").fill(before)
        page.get_by_role("button", name="Change").click()
    assert federations_text(NodeSettings.load(directory).allowed_federations) == before
    observer = ui.login("olga")
    observer.goto(ui.url + "/settings")
    assert observer.get_by_role("button", name="Change").count() == 0


def test_the_system_administrator_downloads_an_encrypted_backup(ui: Ui) -> None:
    page = ui.login("sysa")
    page.get_by_role("link", name="Backup").click()
    page.get_by_label("Passphrase (optional)").fill("a backup passphrase")
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download a backup").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"SILDBAK\x01") and len(data) > 10_000  # sealed with the passphrase
    ui.shot(page, "backup")


def test_the_traffic_page_draws_requests_per_interval_and_latency_per_service(ui: Ui, world: World) -> None:
    node = world.gateways[GW1]
    for _ in range(3):
        answer = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M", trust_env=False, timeout=30,
                           headers={"X-Road-Client": "EE/GOV/70000001/tax"})
        assert answer.status_code == 200, answer.text
    page = ui.login("olga")
    page.get_by_role("link", name="Traffic").click()
    def income_cells() -> list[str]:
        row = page.locator("tr", has_text="vero/income")
        return row.locator("td").all_inner_texts() if row.count() else []

    deadline = time.monotonic() + 30
    # the gateway writes its monitoring records in batches a second or so after the exchanges: wait for all three
    while not ((cells := income_cells()) and int(cells[1]) >= 3) and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    chart = page.locator("svg.chart")
    assert "Requests and failures per interval, last 24 hours" in chart.locator("title").first.text_content()
    cells = income_cells()
    assert int(cells[1]) >= 3 and cells[3] != ""  # requests, and a median latency
    ui.shot(page, "traffic")
    page.get_by_label("Period").select_option("1")
    page.get_by_label("Service").select_option(cells[0])
    page.get_by_role("button", name="Show").click()
    assert f"last 1 hours, {cells[0]}" in page.locator("svg.chart title").first.text_content()


def test_the_system_administrator_creates_an_api_key_shown_once_and_revokes_it(ui: Ui) -> None:
    page = ui.login("sysa")
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("viewer: read only").check()
    page.get_by_label("Label", exact=True).fill("ui-made monitoring key")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("Secret").input_value()
    assert secret.startswith("sild_") and "cannot be shown again" in page.inner_text(".notice")
    ui.shot(page, "apikeys")

    def status() -> int:
        return httpx.get(admin_url(ui.directory) + "/api/v1/status", headers={"Authorization": f"Bearer {secret}"},
                         verify=admin_client_context(ui.directory), trust_env=False, timeout=30).status_code

    assert status() == 200
    page.goto(ui.url + "/apikeys")
    assert secret not in page.content()  # never shown again
    row = page.locator("tr", has_text="ui-made monitoring key")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_load_state()
    assert "revoked" in page.inner_text(".notice") and "revoked" in row.inner_text()
    assert status() == 401


def _is_certificate(path: Path) -> str:
    """A self-signed TLS certificate of an information system (PEM), written to ``path``."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal.example")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert.fingerprint(hashes.SHA256()).hex()


def test_the_service_administrator_sets_how_a_clients_systems_connect(ui: Ui, world: World, tmp_path: Path) -> None:
    from trust.protocol import parse_client

    conf = world.gateways[GW1].serverconf
    portal = parse_client("EE/GOV/70000001/portal")
    conf.add_client(portal)
    try:
        page = ui.login("sven")
        page.goto(ui.url + "/clients")
        page.get_by_role("link", name="EE/GOV/70000001/portal").click()
        page.get_by_label("IS authentication").select_option("https-cert")
        page.locator("form", has_text="IS authentication").get_by_role("button", name="Change").click()
        assert "now connect by https-cert" in page.inner_text(".notice")
        digest = _is_certificate(tmp_path / "portal.pem")
        page.get_by_label("Add an IS certificate (PEM)").set_input_files(str(tmp_path / "portal.pem"))
        page.get_by_role("button", name="Add certificate").click()
        assert digest in page.inner_text("table.data")
        page.get_by_label("Message bodies of this client").select_option("off")
        page.locator("form", has_text="Message bodies").get_by_role("button", name="Change").click()
        info = conf.snapshot().client(portal)
        assert info is not None and info.is_auth == "https-cert" and info.body_logging is False
        assert digest in info.cert_hashes
        ui.shot(page, "client")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Remove").click()
        page.wait_for_load_state()
        assert "None registered." in page.inner_text("table.data")
        page.get_by_label("New group code").fill("auditors")
        page.get_by_label("Description").fill("Tax auditors")
        page.get_by_role("button", name="Add group").click()
        page.get_by_label("Add a member to auditors").fill("EE/COM/10000003/bank")
        page.get_by_role("button", name="Add member").click()
        assert "EE/COM/10000003/bank added to auditors." in page.inner_text(".notice")
        groups = conf.list_local_groups(portal)
        assert [(g.code, sorted(m.to_text() for m in g.members)) for g in groups] == [
            ("auditors", ["EE/COM/10000003/bank"])]
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Delete group auditors").click()
        page.wait_for_load_state()
        assert "No local groups." in page.inner_text("main") and conf.list_local_groups(portal) == []
        page.goto(ui.url + "/clients/EE:GOV:70000001:nothing")
        assert "gateway.serverconf.client_not_found" in error_box(page)
    finally:
        conf.remove_client(portal)


def test_management_requests_the_authority_cannot_take_are_explained_and_change_nothing(ui: Ui, world: World) -> None:
    from trust.protocol import parse_client

    page = ui.login("reino")
    page.goto(ui.url + "/clients?q=tax")
    row = page.locator("tr", has_text="EE/GOV/70000001/tax")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Request deletion").click()
    page.wait_for_load_state()
    refusal = error_box(page)  # the world has no authority to send it to: the API's own refusal, in the page
    assert "no authority URL known for this gateway" in refusal and "gateway.setup.error" in refusal
    assert "Traceback" not in page.content()
    info = world.gateways[GW1].serverconf.snapshot().client(parse_client("EE/GOV/70000001/tax"))
    assert info is not None and info.state == "REGISTERED"  # nothing was sent, nothing changed
    page.get_by_label("New address").fill("gw1.tax.example")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Request address change").click()
    page.wait_for_load_state()
    assert "gateway.setup.error" in error_box(page)
    page.get_by_label("New owner").fill("EE/GOV/70000001/tax")  # a subsystem is no owner: refused before sending
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Request owner change").click()
    page.wait_for_load_state()
    assert "gateway.admin.bad_field" in error_box(page) and "member id" in error_box(page)


def test_the_security_officer_rotates_a_sign_key_from_csr_to_imported_certificate(ui: Ui, world: World,
                                                                                   tmp_path: Path) -> None:
    """Generate, download the CSR, have the CA certify it, import the certificate, disable, delete."""
    import datetime as dt

    from cryptography.hazmat.primitives import serialization

    from trust.protocol import MemberId

    page = ui.login("sofia")
    page.goto(ui.url + "/keys")
    page.get_by_label("Usage").select_option("sign")
    page.get_by_label("Algorithm").select_option("ec-p256")
    page.get_by_label("Member (signing keys)").fill("EE/GOV/70000001")
    page.get_by_label("Label", exact=True).fill("ui rotated sign key")
    page.get_by_role("button", name="Generate key").click()
    key_id = re.search(r"Key (\S+) generated", page.inner_text(".notice")).group(1)  # type: ignore[union-attr]
    row = page.locator("tr", has_text="ui rotated sign key")
    try:
        with page.expect_download() as download:
            row.get_by_role("button", name="Download CSR").click()
        csr = Path(download.value.path()).read_bytes()
        issued = world.cas["EE"].issue_sign(MemberId("EE", "GOV", "70000001"), now=dt.datetime.now(dt.timezone.utc),
                                            csr=csr)
        cert = tmp_path / "sign.pem"
        cert.write_bytes(issued.cert.public_bytes(serialization.Encoding.PEM))
        page.get_by_label("Certificate file (PEM or DER)").set_input_files(str(cert))
        page.get_by_role("button", name="Import certificate").click()
        assert "Certificate imported." in page.inner_text(".notice")
        serial = format(issued.cert.serial_number, "x")
        assert serial in row.inner_text() and "active" in row.inner_text()
        row.get_by_role("button", name="Disable").first.click()  # the certificate's (the key's own comes after)
        assert re.search(r"The certificate \S+ is now disabled\.", page.inner_text(".notice"))
    finally:
        page.goto(ui.url + "/keys")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("tr", has_text="ui rotated sign key").get_by_role("button", name="Delete").last.click()
        page.wait_for_load_state()
    assert f"The key {key_id} was deleted." in page.inner_text(".notice")


def test_a_rest_endpoint_is_added_and_a_right_granted_on_it_alone(ui: Ui, world: World) -> None:
    from trust.protocol import parse_client

    tax = parse_client("EE/GOV/70000001/tax")
    conf = world.gateways[GW1].serverconf
    page = ui.login("sven")
    page.goto(ui.url + "/services?client=EE/GOV/70000001/tax")
    page.get_by_label("Type").select_option("REST")
    page.get_by_label("URL").fill(world.backends.urls["vero"] + "/rest/income")  # type: ignore[attr-defined]
    page.get_by_label("Service code").fill("ui-income")
    page.get_by_role("button", name="Add description").click()
    try:
        page.get_by_label("REST service").select_option("ui-income")
        page.get_by_label("Method (required)", exact=True).fill("GET")
        page.get_by_label("Path (required)", exact=True).fill("/income/{id}")
        page.get_by_role("button", name="Add endpoint").click()
        assert "Endpoint GET /income/{id} added to ui-income." in page.inner_text(".notice")
        assert "GET /income/{id}" in page.locator("table.data").nth(1).locator("tr", has_text="ui-income").inner_text()
        page.get_by_label("Service", exact=True).select_option("ui-income")
        page.get_by_label("Subject").fill("EE/COM/10000003/bank")
        page.get_by_label("HTTP method (REST endpoint)").fill("GET")
        page.get_by_label("Path (REST endpoint)").fill("/income/{id}")
        page.get_by_role("button", name="Grant").click()
        rights = [(r.service_code, r.endpoint.method, r.endpoint.path) for r in conf.list_rights(tax, "ui-income")]
        assert rights == [("ui-income", "GET", "/income/{id}")]
    finally:
        for description in conf.list_descriptions(tax):
            if description.url.endswith("/rest/income"):
                conf.remove_description(description.id)


def test_the_security_officer_adds_an_hsm_token_and_logs_in_with_its_pin(ui: Ui, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.softhsm import make_token

    hsm = make_token(tmp_path / "hsm", monkeypatch, label="ui-hsm", pin="246810", so_pin="135790")
    page = ui.login("sofia")
    page.goto(ui.url + "/keys")
    page.get_by_label("Token name").fill("hsm-ui")
    page.get_by_label("PKCS#11 module").fill(str(hsm.library))
    page.get_by_label("Token label").fill("ui-hsm")
    page.get_by_role("button", name="Add token").click()
    assert "Token hsm-ui added" in page.inner_text(".notice")
    assert "Token hsm-ui (pkcs11, logged out)" in page.inner_text("main")
    page.get_by_label("PIN of token hsm-ui").fill("000000")
    page.get_by_role("button", name="Log in to token").click()
    assert "trust.key.wrong_pin" in error_box(page)
    assert page.get_by_label("PIN of token hsm-ui").input_value() == ""  # a PIN is never sent back
    page.get_by_label("PIN of token hsm-ui").fill("246810")
    page.get_by_role("button", name="Log in to token").click()
    assert "Logged in to token hsm-ui." in page.inner_text(".notice")
    page.get_by_role("button", name="Log out of token").click()
    assert "Logged out of token hsm-ui." in page.inner_text(".notice")
    assert "246810" not in ui.login("olga").goto(ui.url + "/audit").text()
