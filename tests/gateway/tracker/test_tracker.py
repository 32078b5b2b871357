"""The data tracker end to end: real gateways with real mTLS, a real admin API on a socket.

EE tax asks FI vero (the in-process world of ``tests.gateway._world``: four gateway
nodes, their CAs, OCSP and TSA over HTTP, the sandbox's backends); vero's owner has
declared where its services' requests name the data subject. Each exchange on a
declared service must leave an entry with the subject as a keyed hash, readable with
the ``tracker`` role only; a request whose subject cannot be found is still answered.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

import httpx
import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import select

from trust.protocol import ServiceId, build_request

from gateway.db import schema as m
from gateway.serverconf import InvalidInput, create_api_key
from gateway.tracker import KEY_FILE, load_rules, make_rule, save_rule

from tests.gateway._world import TAX, VERO

VERO_NS = "http://vero.sandbox.sild.eu/producer"
GET_TAX_RECORD = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
ROLES = ("tracker", "viewer", "auditor", "service-admin", "admin")


@pytest.fixture(scope="module")
def vero(world):
    node = world.gateway_of(VERO)
    save_rule(node.serverconf, make_rule(VERO, "getTaxRecord", "xpath", "vero:getTaxRecord/vero:personCode",
                                         {"vero": VERO_NS}))
    save_rule(node.serverconf, make_rule(VERO, "income", "path", "/{person}"))
    return node


@pytest.fixture(scope="module")
def admin(vero):
    from gateway.admin import create_app
    from gateway.net import WsgiServer

    keys = {role: create_api_key(vero.serverconf, [role], f"tracker test {role}")[1] for role in ROLES}
    server = WsgiServer(create_app(vero), "127.0.0.1", 0, name="admin-tracker-test").start()

    def call(method, path, role, **kw):
        return httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {keys[role]}"},
                             timeout=30, **kw)
    try:
        yield call
    finally:
        server.stop()


def _soap(world, person: str, *, issue: str | None = "case-17", purpose: str | None = None) -> httpx.Response:
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = person
    msg = build_request(client=TAX, service=GET_TAX_RECORD, query_id=str(uuid.uuid4()), body=body,
                        user_id="EE38001010000", issue=issue, purpose=purpose)
    return httpx.post(world.gateway_of(TAX).is_url + "/", content=msg,
                      headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=60)


def _rest(world, path: str, query_id: str) -> httpx.Response:
    return httpx.get(world.gateway_of(TAX).is_url + "/r1/FI/GOV/0245437-2/vero/income" + path,
                     headers={"X-Road-Client": TAX.to_text(), "X-Road-Id": query_id,
                              "X-Road-UserId": "EE38001010000"}, timeout=60)


def _flushed(node) -> None:
    """The node's tracker writes in the background (every half second): write now."""
    node.parts.tracker.flush()


def _rows(node, subject_column: str):
    _flushed(node)
    with node.serverconf.read() as s:
        return [r for r in s.execute(select(m.TrackerEntry)).scalars() if r.subject == subject_column]


def test_soap_exchange_is_tracked_by_xpath_with_the_subject_hashed(world, vero, admin):
    person = f"010190-{uuid.uuid4().hex[:6]}"
    resp = _soap(world, person)
    assert resp.status_code == 200, resp.text
    _flushed(vero)
    key = (vero.directory / KEY_FILE).read_bytes()
    assert len(key) == 32 and (vero.directory / KEY_FILE).stat().st_mode & 0o077 == 0
    digest = hmac.new(key, person.encode(), hashlib.sha256).hexdigest()
    rows = _rows(vero, digest)
    assert len(rows) == 1 and rows[0].hashed and not _rows(vero, person)  # never the plain code
    got = admin("GET", f"/api/v1/tracker/subjects/{person}", "tracker")
    assert got.status_code == 200, got.text
    [entry] = got.json()["entries"]
    assert entry["client"] == TAX.to_text() and entry["service"] == GET_TAX_RECORD.to_text()
    assert (entry["user_id"], entry["issue"], entry["purpose"]) == ("EE38001010000", "case-17", None)
    # the evidence: the message-log record of this very exchange on vero's side
    records = vero.messagelog.find(entry["query_id"], direction="request")
    assert [r.id for r in records] == [entry["log_record_id"]]
    assert person.encode() in records[0].message


def test_the_declared_purpose_lands_in_the_entry(world, vero, admin):
    """The purpose the client's gateway signed (issue 20 part 2) is what the data owner's portal shows."""
    person = f"010190-{uuid.uuid4().hex[:6]}"
    resp = _soap(world, person, purpose="tax-assessment")
    assert resp.status_code == 200, resp.text
    _flushed(vero)
    [entry] = admin("GET", f"/api/v1/tracker/subjects/{person}", "tracker").json()["entries"]
    assert entry["purpose"] == "tax-assessment"


def test_only_the_tracker_role_and_admin_read_a_subject(world, vero, admin):
    person = f"020290-{uuid.uuid4().hex[:6]}"
    assert _soap(world, person).status_code == 200
    _flushed(vero)
    for role in ("viewer", "auditor", "service-admin"):
        refused = admin("GET", f"/api/v1/tracker/subjects/{person}", role)
        assert (refused.status_code, refused.json()["code"]) == (403, "gateway.admin.forbidden"), role
    assert len(admin("GET", f"/api/v1/tracker/subjects/{person}", "admin").json()["entries"]) == 1
    # the portal's key reads nothing else
    assert admin("GET", "/api/v1/clients", "tracker").status_code == 403
    assert admin("GET", "/api/v1/tracker/rules", "tracker").status_code == 403
    assert admin("GET", f"/api/v1/tracker/subjects/{'x' * 300}", "tracker").status_code == 400


def test_rest_exchange_is_tracked_by_path_parameter(world, vero, admin):
    person = f"030390-{uuid.uuid4().hex[:6]}"
    query_id = f"t-{uuid.uuid4()}"
    resp = _rest(world, f"/{person}", query_id)
    assert resp.status_code in (200, 404), resp.text  # the backend may not know the person: still read
    assert "X-Road-Error" not in resp.headers, resp.text
    deadline = time.monotonic() + 30  # no flush here: the node's writer thread writes by itself
    while not (entries := admin("GET", f"/api/v1/tracker/subjects/{person}", "tracker").json()["entries"]):
        assert time.monotonic() < deadline, "the tracker's writer never wrote the entry"
        time.sleep(0.2)
    [entry] = entries
    assert entry["query_id"] == query_id and entry["service"] == "FI/GOV/0245437-2/vero/income"


def test_a_request_without_a_findable_subject_is_answered_and_counted(world, vero, admin):
    save_rule(vero.serverconf, make_rule(VERO, "income", "query", "person"))
    try:
        before = vero.parts.tracker.failures
        query_id = f"t-{uuid.uuid4()}"
        resp = _rest(world, "/010190-123M", query_id)  # no ?person=
        assert resp.status_code == 200 and resp.json(), resp.text
        _flushed(vero)
        assert vero.parts.tracker.failures == before + 1
        with vero.serverconf.read() as s:
            assert s.execute(select(m.TrackerEntry).where(m.TrackerEntry.query_id == query_id)).first() is None
        # and the query parameter works when present
        resp = _rest(world, "/010190-123M?person=040490-Q", f"t-{uuid.uuid4()}")
        assert "X-Road-Error" not in resp.headers, resp.text  # the backend's own 400 (unknown field): served
        _flushed(vero)
        assert len(admin("GET", "/api/v1/tracker/subjects/040490-Q", "tracker").json()["entries"]) == 1
    finally:
        save_rule(vero.serverconf, make_rule(VERO, "income", "path", "/{person}"))


def test_html_report_shows_markup_in_a_subject_or_issue_as_text(world, vero, admin):
    person = f"<img src=x onerror=alert({uuid.uuid4().hex[:4]})>"
    assert _soap(world, person, issue="<b>audit</b> & more").status_code == 200
    _flushed(vero)
    page = admin("GET", f"/api/v1/tracker/subjects/{person}", "tracker",
                 params={"format": "html", "owner": "Finnish Tax Administration"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Your data in the Finnish Tax Administration: who looked, when, why" in html
    assert "<img" not in html and "<b>audit" not in html
    assert "&lt;img src=x onerror=alert(" in html and "&lt;b&gt;audit&lt;/b&gt; &amp; more" in html
    assert "sild gateway log export" in html and TAX.to_text() in html


def test_cli_declares_and_prints_a_subject(world, vero):
    from gateway.cli._main import _register, cli

    _register()
    directory = str(vero.directory)
    run = CliRunner().invoke
    done = run(cli, ["gateway", "tracker", "declare", directory, VERO.to_text(), "income", "--path", "/{code}"],
               catch_exceptions=False)
    assert done.exit_code == 0 and "subject from path /{code}" in done.output
    assert len((vero.directory / KEY_FILE).read_bytes()) == 32  # declaring makes the key (a cluster bundle carries it)
    assert any(r.expression == "/{code}" for r in load_rules(vero.serverconf))
    person = f"050590-{uuid.uuid4().hex[:6]}"
    query_id = f"t-{uuid.uuid4()}"
    vero.serverconf._checked_at = 0.0  # the CLI wrote through its own connection: see it now, not in a second
    assert _rest(world, f"/{person}", query_id).status_code in (200, 404)
    _flushed(vero)
    shown = run(cli, ["gateway", "tracker", person, directory], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert f"1 exchange(s) on the data of {person}" in shown.output and query_id in shown.output
    assert f"sild gateway log export {directory} --query-id {query_id}" in shown.output
    bad = run(cli, ["gateway", "tracker", "declare", directory, VERO.to_text(), "income", "--xpath", "a["])
    assert bad.exit_code != 0 and "not an XPath expression" in bad.output


def test_declarations_are_checked():
    with pytest.raises(InvalidInput, match="exactly one"):
        make_rule(VERO, "income", "path", "/{a}/{b}")
    with pytest.raises(InvalidInput, match="one of path"):
        make_rule(VERO, "income", "cookie", "x")
    with pytest.raises(InvalidInput, match="not a header name"):
        make_rule(VERO, "income", "header", "a b")
