"""Exchanges through two real gateways in one process: SOAP and REST, EE -> FI and FI -> EE."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import httpx
import pytest
from lxml import etree

from trust.protocol import parse_soap
from trust.protocol import build_request
from trust.protocol._soap_build import request_hash
from trust.protocol import ServiceId

from tests.gateway._world import BANK, TAX, VERO
from tests.support.zeep_headers import tax_asks_vero

VERO_NS = "http://vero.sandbox.sild.eu/producer"


def _soap_call(world, client, service, body):
    gw = world.gateway_of(client)
    msg = build_request(client=client, service=service, query_id=str(uuid.uuid4()), body=body, user_id="EE12345678901")
    resp = httpx.post(gw.is_url + "/", content=msg, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=30)
    return msg, resp


def _tax_record_body(code):
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = code
    return body


def test_soap_cross_border(world):
    service = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
    msg, resp = _soap_call(world, TAX, service, _tax_record_body("010190-123M"))
    assert resp.status_code == 200, resp.text
    answer = parse_soap(resp.content, resp.headers["content-type"], role="response")
    assert answer.header.client == TAX and answer.header.service == service
    assert answer.header.request_hash.value == request_hash(msg)
    assert b"010190-123M" in resp.content


def test_rest_cross_border(world):
    gw = world.gateway_of(TAX)
    resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-Road-Request-Hash"]
    assert resp.json()


def test_bank_denied(world):
    service = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
    _, resp = _soap_call(world, BANK, service, _tax_record_body("010190-123M"))
    assert b"server.serverproxy.access_denied" in resp.content, resp.text


@pytest.mark.conformance(area="wsdl", peer="zeep",
                         expected="zeep builds a client from the WSDL a gateway serves and calls FI through two gateways")
def test_zeep_client_from_served_wsdl(world):
    """zeep builds its client from the WSDL the EE gateway serves and calls FI through two gateways."""
    import zeep
    from zeep.transports import Transport

    gw = world.gateway_of(TAX)
    url = (gw.is_url + "/wsdl?xRoadInstance=FI&memberClass=GOV&memberCode=0245437-2&subsystemCode=vero"
           "&serviceCode=getTaxRecord&version=v1&client=EE/GOV/70000001/tax")
    client = zeep.Client(url, transport=Transport(timeout=30))
    query_id = str(uuid.uuid4())
    headers = tax_asks_vero(query_id, "EE12345678901")
    with client.settings(raw_response=True):
        resp = client.service.getTaxRecord(personCode="010190-123M", _soapheaders=headers)
    assert resp.status_code == 200, resp.text
    answer = parse_soap(resp.content, resp.headers["content-type"], role="response")
    assert answer.header.query_id == query_id
    assert answer.header.client == TAX
    assert answer.header.user_id == "EE12345678901"
    sent = resp.request.body
    assert answer.header.request_hash.value == request_hash(sent)
    result = client.service.getTaxRecord(personCode="010190-123M", _soapheaders=dict(headers, id=str(uuid.uuid4())))
    assert result.body.found is True and result.body.taxRecord.personCode == "010190-123M"


def _wait_snapshot(conf):
    """ServerConf rebuilds its snapshot when the change counter moved (checked at most every second)."""
    import time

    counter = conf.counter()
    deadline = time.monotonic() + 5
    while conf.snapshot().counter != counter and time.monotonic() < deadline:
        time.sleep(0.05)


def test_expired_own_configuration_refuses_traffic(world):
    service = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
    saved = world.expires["EE"]
    world.expires["EE"] = world.now - dt.timedelta(seconds=1)
    try:
        _, resp = _soap_call(world, TAX, service, _tax_record_body("010190-123M"))
        assert etree.fromstring(resp.content).findtext(".//faultcode") == "server.clientproxy.global_conf_outdated"
        rest = httpx.get(world.gateway_of(TAX).is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                         headers={"X-Road-Client": TAX.to_text()}, timeout=30)
        assert rest.status_code == 500 and rest.headers["X-Road-Error"] == "server.clientproxy.global_conf_outdated"
        # for FI's gateways EE is a partner whose configuration expired: it is simply gone
        pop = ServiceId("EE", "GOV", "70000002", "population", "getPerson", "v1")
        _, resp = _soap_call(world, VERO, pop, etree.Element("{http://population.sandbox.sild.eu/producer}getPerson"))
        assert etree.fromstring(resp.content).findtext(".//faultcode") == "server.clientproxy.unknown_member"
    finally:
        world.expires["EE"] = saved
    _, resp = _soap_call(world, TAX, service, _tax_record_body("010190-123M"))
    assert resp.status_code == 200


def test_expired_partner_configuration_drops_the_partner(world):
    saved = world.expires["FI"]
    world.expires["FI"] = world.now - dt.timedelta(seconds=1)
    try:
        gw = world.gateway_of(TAX)
        assert httpx.get(gw.is_url + "/listClients?xRoadInstance=FI", timeout=10).status_code == 400
        resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                         headers={"X-Road-Client": TAX.to_text()}, timeout=30)
        assert resp.headers["X-Road-Error"] == "server.clientproxy.unknown_member"
    finally:
        world.expires["FI"] = saved


def test_is_authentication_per_client(world):
    gw = world.gateway_of(TAX)
    gw.serverconf.set_client_auth(TAX, "https")
    _wait_snapshot(gw.serverconf)
    try:
        resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                         headers={"X-Road-Client": TAX.to_text()}, timeout=30)
        assert resp.status_code == 400 and resp.headers["X-Road-Error"] == "client.ssl_authentication_failed"
    finally:
        gw.serverconf.set_client_auth(TAX, "http")
        _wait_snapshot(gw.serverconf)


def test_unregistered_client_and_disabled_service(world):
    gw = world.gateway_of(TAX)
    stranger = ServiceId("FI", "GOV", "0245437-2", "vero", "income")
    resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": "EE/GOV/70000001/unknown"}, timeout=30)
    assert resp.headers["X-Road-Error"] == "server.clientproxy.unknown_member"
    vero_conf = world.gateway_of(VERO).serverconf
    vero_conf.set_service_enabled(stranger, False, "closed for the audit")
    _wait_snapshot(vero_conf)
    try:
        resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                         headers={"X-Road-Client": TAX.to_text()}, timeout=30)
        assert resp.headers["X-Road-Error"] == "server.serverproxy.service_disabled"
        assert resp.json()["message"] == "closed for the audit"
    finally:
        vero_conf.set_service_enabled(stranger, True)
        _wait_snapshot(vero_conf)


def test_rest_list_and_allowed_methods(world):
    gw = world.gateway_of(TAX)
    listed = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/listMethods",
                       headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert listed.status_code == 200, listed.text
    assert {s["service_code"] for s in listed.json()["service"]} == {"income"}
    bank_gw = world.gateway_of(BANK)
    allowed = httpx.get(bank_gw.is_url + "/r1/FI/GOV/0245437-2/vero/allowedMethods",
                        headers={"X-Road-Client": BANK.to_text()}, timeout=30)
    assert allowed.status_code == 200 and allowed.json() == {"service": []}


def test_messages_are_logged_on_both_sides(world):
    service = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
    msg, resp = _soap_call(world, TAX, service, _tax_record_body("010190-123M"))
    assert resp.status_code == 200
    query_id = parse_soap(msg, "text/xml").header.query_id
    client_side = world.gateway_of(TAX).messagelog.find(query_id)
    server_side = world.gateway_of(VERO).messagelog.find(query_id)
    assert sorted(r.direction for r in client_side) == ["request", "response"]
    assert sorted(r.direction for r in server_side) == ["request", "response"]
    assert next(r for r in client_side if r.direction == "request").message == msg


def test_security_server_header_selects_the_node(world):
    from trust.protocol import parse_server

    gw = world.gateway_of(TAX)
    ok = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M", timeout=30,
                   headers={"X-Road-Client": TAX.to_text(), "X-Road-Security-Server": "FI/GOV/0245437-2/gw1"})
    assert ok.status_code == 200, ok.text
    wrong = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M", timeout=30,
                      headers={"X-Road-Client": TAX.to_text(), "X-Road-Security-Server": "FI/GOV/0242431-1/gw1"})
    assert wrong.headers["X-Road-Error"] == "server.clientproxy.invalid_security_server"
    service = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
    msg = build_request(client=TAX, service=service, query_id=str(uuid.uuid4()), body=_tax_record_body("010190-123M"),
                        security_server=parse_server("FI/GOV/0245437-2/gw1"))
    resp = httpx.post(gw.is_url + "/", content=msg, headers={"Content-Type": "text/xml"}, timeout=30)
    assert resp.status_code == 200, resp.text


def test_overdue_timestamping_refuses_traffic_until_it_succeeds(world):
    """After the acceptable failure period (4 h by default) without a timestamp, messages are refused."""
    from gateway.messagelog import Timestamper
    from gateway.messagelog._timestamper import TimestampingFailed

    node = world.gateway_of(TAX)
    ok = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                   headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert ok.status_code == 200  # leaves records to stamp

    def broken_tsa(signatures, *, at):  # noqa: ANN001, ANN202 - the BatchStamper shape
        raise OSError("TSA unreachable")

    five_hours_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5)
    with pytest.raises(TimestampingFailed):  # recorded as the first failure, five hours ago
        Timestamper(node.messagelog, broken_tsa, clock=lambda: five_hours_ago).run_all(five_hours_ago)
    try:
        refused = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                            headers={"X-Road-Client": TAX.to_text()}, timeout=30)
        assert refused.status_code == 500
        assert refused.headers["X-Road-Error"].endswith("mlog_timestamper_failed")
        _, soap = _soap_call(world, TAX, ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1"),
                             _tax_record_body("010190-123M"))
        assert etree.fromstring(soap.content).findtext(".//faultcode").endswith("mlog_timestamper_failed")
    finally:
        assert node.timestamp_now() > 0  # the TSA answers again: the backlog is stamped
    again = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                      headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert again.status_code == 200, again.text


class _HeldSigner:
    """The node's key store with its first private-key operation held open, so that the
    requests arriving meanwhile queue up behind it (a stand-in for concurrent load)."""

    def __init__(self, inner):
        self._inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()
        self.operations = 0

    def sign(self, key_id, algorithm, digest):
        self.operations += 1
        if self.operations == 1:
            self.entered.set()
            self.release.wait(10)
        return self._inner.sign(key_id, algorithm, digest)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_concurrent_messages_share_one_batch_signature_that_verifies_end_to_end(world):
    """Messages queued behind a signature are signed together with hash chains (X-Road's batch
    signature): the provider's gateway verifies each through its chain, and each exported
    request verifies as evidence on its own."""
    from gateway.messagelog import export_exchange
    from trust.evidence import verify_container

    node = world.gateway_of(TAX)
    held = _HeldSigner(node.signing._signer)
    node.signing._signer = held
    batches_before = node.signing.batcher.batches
    results: dict[int, httpx.Response] = {}

    def call(n):
        results[n] = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                               headers={"X-Road-Client": TAX.to_text()}, timeout=30)

    try:
        first = threading.Thread(target=call, args=(0,))
        first.start()
        assert held.entered.wait(10)
        others = [threading.Thread(target=call, args=(n,)) for n in range(1, 6)]
        for t in others:
            t.start()
        deadline = time.monotonic() + 10
        while len(node.signing.batcher._queues[TAX.member].pending) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        held.release.set()
        for t in [first, *others]:
            t.join(30)
    finally:
        held.release.set()
        node.signing._signer = held._inner
    assert sorted(results) == list(range(6)) and all(r.status_code == 200 for r in results.values()), \
        [r.text for r in results.values() if r.status_code != 200]
    assert node.signing.batcher.batches == batches_before + 1
    assert held.operations == 2  # six requests, two private-key operations
    query_ids = [r.headers["X-Road-Id"] for r in results.values()]
    records = [node.messagelog.find(q, direction="request", side="client")[0] for q in query_ids]
    batched = [r for r in records if r.hash_chain is not None]
    assert len(batched) == 5 and len({r.signature for r in batched}) == 1
    assert len({r.hash_chain for r in batched}) == 5  # one path per message up to the signed root
    node.timestamp_now()
    now = dt.datetime.now(dt.timezone.utc)
    policies = {inst: node.policy_for(inst, now) for inst in ("EE", "FI")}
    for record in batched[:2]:
        container = export_exchange(node.messagelog, record.query_id, direction="request", side="client",
                                    require_timestamp=True)
        verified = verify_container(container, policies, require_timestamp=True)
        assert verified.identity.signer.member == TAX.member


def test_request_and_answer_are_logged_together_and_a_failed_request_alone(world):
    """A decided exchange is on record as request and answer (one transaction); when the
    backend fails, both gateways still keep the signed request, and no answer record."""
    from gateway.sandbox._ports import reserve_port

    fi = world.gateway_of(VERO)
    if "gone" not in {s.id.service_code for s in fi.serverconf.snapshot().services_of(VERO)}:
        fi.serverconf.add_rest(VERO, f"http://127.0.0.1:{reserve_port()}/nothing-listens", "gone", enabled=True)
        fi.serverconf.grant(VERO, "gone", TAX)
        time.sleep(1.5)  # the node notices the configuration change
    node = world.gateway_of(TAX)
    ok_id, failed_id = f"ok-{uuid.uuid4()}", f"failed-{uuid.uuid4()}"
    ok = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                   headers={"X-Road-Client": TAX.to_text(), "X-Road-Id": ok_id}, timeout=30)
    assert ok.status_code == 200, ok.text
    failed = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/gone/x",
                       headers={"X-Road-Client": TAX.to_text(), "X-Road-Id": failed_id}, timeout=30)
    assert failed.status_code == 500 and failed.headers["X-Road-Error"].endswith("service_failed.network_error")
    for gateway, side in ((node, "client"), (fi, "server")):
        records = gateway.messagelog.find(ok_id, side=side)
        assert [r.direction for r in records] == ["request", "response"]
        assert records[1].id == records[0].id + 1  # written together, in one transaction
        assert [r.direction for r in gateway.messagelog.find(failed_id, side=side)] == ["request"]
