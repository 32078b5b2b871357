"""The sandbox federation end to end: real processes, real mTLS, real signatures, real logs.

One sandbox (two instances, four gateways served by two worker processes each, two authorities, trust
services, sample backends) is started for this module with ``sild sandbox up`` and stopped with
``sild sandbox down``; every process it started must be gone afterwards. Tests that
stop a process restart it before they end, so the order of tests does not matter.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from lxml import etree

from gateway.sandbox import _processes as processes
from trust.protocol import parse_soap
from trust.protocol import build_request
from trust.protocol._soap_build import request_hash
from trust.protocol import ServiceId, parse_client

from tests.support.zeep_headers import tax_asks_vero

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

TAX = parse_client("EE/GOV/70000001/tax")
BANK = parse_client("EE/COM/10000003/bank")
VERO_SVC = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
VERO_NS = "http://vero.sandbox.sild.eu/producer"
XRD = "http://x-road.eu/xsd/xroad.xsd"


def _sild(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(processes.sild_command(*args), capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox")
    # two worker processes per gateway: every exchange here crosses them (gateway.node._workers)
    result = _sild("sandbox", "up", str(root), "--owner-pid", str(os.getpid()), "--workers", "2")
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        state = json.loads((root / "sandbox.json").read_text())
        yield state
    finally:
        pids = [json.loads(p.read_text())["pid"] for p in (root / "pids").glob("*.pid")]
        down = _sild("sandbox", "down", str(root))
        assert down.returncode == 0, down.stderr
        for pid in pids:  # nothing left behind
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(") ")[1][:2]


def _gw(state, client) -> str:
    return next(g["is_url"] for g in state["gateways"] if client.to_text() in g["clients"])


def _soap(state, client, service, body, *, timeout=30.0):
    msg = build_request(client=client, service=service, query_id=str(uuid.uuid4()), body=body,
                        user_id="EE38001010000")
    resp = httpx.post(_gw(state, client) + "/", content=msg, headers={"Content-Type": "text/xml; charset=utf-8"},
                      timeout=timeout, trust_env=False)
    return msg, resp


def _tax_body(code="010190-123M"):
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = code
    return body


def _faultcode(resp) -> str:
    return etree.fromstring(resp.content).findtext(".//faultcode")


def test_sandbox_json_describes_the_federation(sandbox):
    assert set(sandbox["instances"]) == {"EE", "FI"}
    assert {g["id"] for g in sandbox["gateways"]} == {
        "EE/GOV/70000001/gw1", "EE/GOV/70000002/gw1", "FI/GOV/0245437-2/gw1", "FI/GOV/0242431-1/gw1"}
    for info in sandbox["instances"].values():
        assert len(info["anchors"]["internal_sha224"].replace(":", "")) == 56
    ids = {s["id"] for s in sandbox["services"]}
    assert "FI/GOV/0245437-2/vero/getTaxRecord/v1" in ids and "FI/GOV/0242431-1/dvv/residents" in ids


def test_zeep_from_served_wsdl_calls_fi_through_two_gateways(sandbox):
    import zeep
    from zeep.transports import Transport

    svc = next(s for s in sandbox["services"] if s["service_code"] == "getTaxRecord")
    client = zeep.Client(_gw(sandbox, TAX) + svc["wsdl_query"] + "&client=EE/GOV/70000001/tax",
                         transport=Transport(timeout=30))
    query_id = str(uuid.uuid4())
    headers = tax_asks_vero(query_id, "EE38001010000", issue="case-17")
    with client.settings(raw_response=True):
        raw = client.service.getTaxRecord(personCode="010190-123M", _soapheaders=headers)
    assert raw.status_code == 200, raw.text
    answer = parse_soap(raw.content, raw.headers["content-type"], role="response")
    h = answer.header
    assert (h.client, h.service, h.query_id, h.user_id, h.issue) == (TAX, VERO_SVC, query_id, "EE38001010000",
                                                                     "case-17")
    assert h.request_hash.value == request_hash(raw.request.body)
    result = client.service.getTaxRecord(personCode="010190-123M", _soapheaders=dict(headers, id=str(uuid.uuid4())))
    assert result.body.found is True
    assert result.body.taxRecord.name == "Meikäläinen Matti"


def test_rest_income_with_request_hash(sandbox):
    resp = httpx.get(_gw(sandbox, TAX) + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": TAX.to_text(), "X-Road-UserId": "EE38001010000"}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["taxRecord"]["personCode"] == "010190-123M"
    assert len(base64.b64decode(resp.headers["X-Road-Request-Hash"])) == 64
    assert resp.headers["X-Road-Service"] == "FI/GOV/0245437-2/vero/income"
    unknown = httpx.get(_gw(sandbox, TAX) + "/r1/FI/GOV/0245437-2/vero/income/010101-0000",
                        headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert unknown.status_code == 404 and "X-Road-Error" not in unknown.headers


def test_bank_gets_access_denied(sandbox):
    _, resp = _soap(sandbox, BANK, VERO_SVC, _tax_body())
    assert resp.status_code == 500
    assert _faultcode(resp) == "server.serverproxy.access_denied"
    rest = httpx.get(_gw(sandbox, BANK) + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": BANK.to_text()}, timeout=30)
    assert rest.status_code == 500 and rest.headers["X-Road-Error"] == "server.serverproxy.access_denied"
    assert rest.json()["type"] == "server.serverproxy.access_denied"


def test_unknown_service(sandbox):
    svc = ServiceId("FI", "GOV", "0245437-2", "vero", "getNothing", "v1")
    _, resp = _soap(sandbox, TAX, svc, etree.Element(f"{{{VERO_NS}}}getNothing"))
    assert _faultcode(resp) == "server.serverproxy.unknown_service"


def test_list_clients_of_the_federated_instance(sandbox):
    resp = httpx.get(_gw(sandbox, TAX) + "/listClients?xRoadInstance=FI", timeout=30)
    assert resp.status_code == 200
    root = etree.fromstring(resp.content)
    subsystems = {m.findtext(f"{{{XRD}}}id/{{http://x-road.eu/xsd/identifiers}}subsystemCode")
                  for m in root.iter(f"{{{XRD}}}member")}
    assert {"vero", "dvv"} <= subsystems and "tax" not in subsystems


def _allowed(sandbox, client) -> set[str]:
    provider = ServiceId("EE", "GOV", "70000002", "population", "allowedMethods")
    body = etree.Element(f"{{{XRD}}}allowedMethods")
    _, resp = _soap(sandbox, client, provider, body)
    assert resp.status_code == 200, resp.text
    root = etree.fromstring(resp.content)
    answer = next(root.iter(f"{{{XRD}}}allowedMethodsResponse"))
    return {s.findtext("{http://x-road.eu/xsd/identifiers}serviceCode") for s in answer.iter(f"{{{XRD}}}service")}


def test_allowed_methods_differ_between_tax_and_bank(sandbox):
    assert _allowed(sandbox, BANK) == {"getPerson"}
    assert _allowed(sandbox, TAX) == set()


def _stop(sandbox, name):
    processes.stop(Path(sandbox["directory"]), name)


def _restart(sandbox, name):
    processes.restart(Path(sandbox["directory"]), name)


def test_exchanges_continue_without_the_authority(sandbox):
    _stop(sandbox, "central-EE")
    try:
        _, resp = _soap(sandbox, TAX, VERO_SVC, _tax_body())
        assert resp.status_code == 200, resp.text
        rest = httpx.get(_gw(sandbox, BANK) + "/r1/EE/GOV/70000002/population/persons/49001011238",
                         headers={"X-Road-Client": BANK.to_text()}, timeout=30)
        assert rest.status_code == 200, rest.text
    finally:
        _restart(sandbox, "central-EE")


def test_stopped_provider_gateway_is_a_clear_network_error(sandbox):
    gw = next(g for g in sandbox["gateways"] if g["id"] == "FI/GOV/0245437-2/gw1")
    _stop(sandbox, gw["process"])
    try:
        _, resp = _soap(sandbox, TAX, VERO_SVC, _tax_body())
        assert _faultcode(resp) == "server.clientproxy.network_error"
        other = httpx.get(_gw(sandbox, TAX) + "/r1/FI/GOV/0242431-1/dvv/residents/010190-123M",
                          headers={"X-Road-Client": TAX.to_text()}, timeout=30)
        assert other.status_code == 200, other.text
    finally:
        _restart(sandbox, gw["process"])
        for _ in range(300):
            try:
                if httpx.get(gw["is_url"] + "/listClients", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)


def test_log_export_of_a_cross_border_exchange_verifies(sandbox):
    from federation.conftree import load_tree
    from gateway.messagelog import export_exchange
    from gateway.messagelog import MessageLog
    from gateway.db import open_engine
    from trust.evidence import verify_container

    msg, resp = _soap(sandbox, TAX, VERO_SVC, _tax_body())
    assert resp.status_code == 200, resp.text
    query_id = parse_soap(msg, "text/xml").header.query_id
    gdir = Path(next(g["directory"] for g in sandbox["gateways"] if g["id"] == "EE/GOV/70000001/gw1"))
    mlog = MessageLog(open_engine(gdir / "messagelog.db", migrate=False))
    policies = load_tree(gdir / "conf").to_trust_policies()
    deadline = time.monotonic() + 60
    while True:  # the gateway timestamps in batches every few seconds
        try:
            containers = [export_exchange(mlog, query_id, direction=d, side="client", require_timestamp=True)
                          for d in ("request", "response")]
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    request = verify_container(containers[0], policies, require_timestamp=True)
    # FI's signed answer was timestamped by the EE gateway with EE's TSA: the verifier accepts
    # any TSA approved by an instance it trusts, while the signer is checked against FI's CAs
    response = verify_container(containers[1], policies, require_timestamp=True)
    assert request.identity.signer.instance == "EE" and response.identity.signer.instance == "FI"
    assert response.timestamp is not None and "EE" in response.timestamp.tsa_certificate.subject.rfc4514_string()
    only_fi = {"FI": policies["FI"]}  # without EE's configuration, EE's TSA is not trusted
    with pytest.raises(Exception, match="(?i)tsa|timestamp"):
        verify_container(containers[1], only_fi, require_timestamp=True)


def test_a_new_gateway_registers_with_the_authority(sandbox, tmp_path):
    """init -> CSRs -> certificates from the instance's CA -> import -> register (signed request over HTTP)."""
    from cryptography.hazmat.primitives import serialization

    from trust.services import CertificateAuthority
    from trust.protocol import parse_server

    env = dict(os.environ, SILD_TOKEN_PIN=sandbox["pin"])
    gdir = tmp_path / "gw2"
    anchor = sandbox["instances"]["EE"]["anchors"]["internal"]
    init = subprocess.run(processes.sild_command("gateway", "init", str(gdir), "--anchor", anchor, "--server",
                                                 "EE/GOV/70000001/gw2", "--key-type", "ec-p256",
                                                 "--address", "127.0.0.1:1"),
                          capture_output=True, text=True, env=env, timeout=120)
    assert init.returncode == 0, init.stderr
    ca = CertificateAuthority.open(Path(sandbox["directory"]) / "EE" / "trust", pin=sandbox["pin"])
    try:
        sid = parse_server("EE/GOV/70000001/gw2")
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc)
        for kind, issue in (("auth", lambda csr: ca.issue_auth(sid, now=now, csr=csr)),
                            ("sign", lambda csr: ca.issue_sign(sid.owner, now=now, csr=csr))):
            cert = issue((gdir / "csr" / f"{kind}.csr.pem").read_bytes())
            (tmp_path / f"{kind}.pem").write_bytes(cert.cert.public_bytes(serialization.Encoding.PEM) + ca.chain_pem)
            imported = subprocess.run(processes.sild_command("gateway", "import-cert", str(gdir),
                                                             str(tmp_path / f"{kind}.pem")),
                                      capture_output=True, text=True, env=env, timeout=120)
            assert imported.returncode == 0 and kind in imported.stdout, imported.stderr
    finally:
        ca.close()
    register = subprocess.run(processes.sild_command("gateway", "register", str(gdir), "--authority",
                                                     sandbox["instances"]["EE"]["central_url"],
                                                     "--client", "EE/GOV/70000001/tax"),
                              capture_output=True, text=True, env=env, timeout=120)
    assert register.returncode == 0, register.stderr
    listed = subprocess.run(processes.sild_command("central", "registration", "list",
                                                   sandbox["instances"]["EE"]["central_dir"]),
                            capture_output=True, text=True, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "EE/GOV/70000001/gw2" in listed.stdout
    status = subprocess.run(processes.sild_command("gateway", "status", str(gdir), "--json"),
                            capture_output=True, text=True, env=env, timeout=120)
    assert json.loads(status.stdout)["registration"].startswith("requested at")


def test_verification_configuration_download(sandbox):
    import io
    import zipfile

    resp = httpx.get(_gw(sandbox, TAX) + "/verificationconf", timeout=30)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.content))
    names = archive.namelist()
    assert any("shared" in n.lower() for n in names) and not any("private" in n.lower() for n in names)
    # X-Road's layout: instance-identifier and one folder per instance, no hidden generation folders
    assert "verificationconf/instance-identifier" in names
    assert {n.split("/")[1] for n in names if n.count("/") == 2} == {"EE", "FI"}
    assert not any("/." in n for n in names)
    # and it is enough to verify evidence offline, as `sild asic verify --conf` does
    import tempfile

    from federation.conftree import load_tree

    with tempfile.TemporaryDirectory() as tmp:
        archive.extractall(tmp)
        policies = load_tree(Path(tmp) / "verificationconf").to_trust_policies()
    assert set(policies) == {"EE", "FI"} and policies["FI"].cas


def test_the_same_legacy_operation_over_soap_and_rest_gives_the_same_data(sandbox):
    """EE population's legacy RPC service, behind its adapter, reached both ways through two gateways."""
    pop_ns = "http://population.sandbox.sild.eu/producer"
    vero = parse_client("FI/GOV/0245437-2/vero")
    body = etree.Element(f"{{{pop_ns}}}getPerson")
    etree.SubElement(body, f"{{{pop_ns}}}personCode").text = "39001011237"
    _, soap = _soap(sandbox, vero, ServiceId("EE", "GOV", "70000002", "population", "getPerson", "v1"), body)
    assert soap.status_code == 200, soap.text
    person = etree.fromstring(soap.content).find(f".//{{{pop_ns}}}person")
    assert person is not None
    from_soap = {etree.QName(e).localname: e.text for e in person.iter()
                 if isinstance(e.tag, str) and len(e) == 0 and etree.QName(e).namespace == pop_ns}
    rest = httpx.get(_gw(sandbox, vero) + "/r1/EE/GOV/70000002/population/persons/39001011237",
                     headers={"X-Road-Client": vero.to_text()}, timeout=30)
    assert rest.status_code == 200, rest.text

    def leaves(value, out):
        for key, item in value.items():
            if isinstance(item, dict):
                leaves(item, out)
            else:
                out[key] = item
        return out

    from_rest = leaves(rest.json()["person"], {})
    assert from_soap and {k: str(v) for k, v in from_rest.items()} == from_soap
    assert from_soap["familyName"] == "Meikäläinen"


def test_a_reloaded_unchanged_configuration_keeps_its_objects(sandbox):
    """What is derived from a configuration (trust policies, indexes, validation results) is
    keyed by its object: re-reading the same content must not make a new one."""
    import datetime as dt

    from gateway.conf import ConfStore
    from gateway.settings import NodeSettings

    gdir = Path(next(g["directory"] for g in sandbox["gateways"] if g["id"] == "EE/GOV/70000001/gw1"))
    store = ConfStore(gdir, NodeSettings.load(gdir), clock=lambda: dt.datetime.now(dt.timezone.utc))
    before = {inst: conf.shared for inst, conf in store.current().items()}
    assert set(before) == {"EE", "FI"}
    store._load()  # noqa: SLF001 - what refresh() does after each download round
    assert all(store.current()[inst].shared is shared for inst, shared in before.items())


def test_reload_reads_the_stored_configuration_only_when_a_download_changed_it(sandbox):
    import datetime as dt

    from gateway.conf import ConfStore
    from gateway.settings import NodeSettings

    gdir = Path(next(g["directory"] for g in sandbox["gateways"] if g["id"] == "EE/GOV/70000001/gw1"))
    store = ConfStore(gdir, NodeSettings.load(gdir), clock=lambda: dt.datetime.now(dt.timezone.utc))
    assert store.reload() is False
    status = gdir / "conf" / "status.json"
    os.utime(status, ns=(status.stat().st_atime_ns, status.stat().st_mtime_ns + 1_000_000))
    assert store.reload() is True
    assert store.reload() is False
    assert set(store.current()) == {"EE", "FI"}


# -- worker processes (gateway.node._workers) -----------------------------------------------------


def _pid_of(sandbox, process: str) -> int:
    return int(json.loads((Path(sandbox["directory"]) / "pids" / f"{process}.pid").read_text())["pid"])


def _workers_of(pid: int) -> list[int]:
    """Children of ``pid`` that run ``sild gateway worker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat.rsplit(") ", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"worker" in cmdline:
            found.append(int(entry.name))
    return found


def _wait_for(check, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _income(sandbox) -> httpx.Response:
    """One REST exchange EE tax -> FI vero on a fresh connection (each may land on another process)."""
    return httpx.get(_gw(sandbox, TAX) + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": TAX.to_text()}, timeout=30, trust_env=False)


def _client_requests(prom: Path) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    if not prom.is_file():
        return 0.0
    return sum(s.value for f in text_string_to_metric_families(prom.read_text()) for s in f.samples
               if s.name == "sild_gateway_requests_total" and s.labels.get("side") == "client")


def test_a_gateway_with_workers_serves_its_ports_from_every_worker(sandbox):
    gw = next(g for g in sandbox["gateways"] if g["id"] == "EE/GOV/70000001/gw1")
    main = _pid_of(sandbox, gw["process"])
    assert len(_workers_of(main)) == 2  # the main process supervises and runs the jobs; two serve
    proms = [Path(gw["directory"]) / "workers" / f"worker-{i}.prom" for i in (1, 2)]
    before = [_client_requests(p) for p in proms]
    sent = 0
    # The kernel wakes both workers for each new connection and the first to accept takes it:
    # one at a time, an idle worker may win them all, so clients come in parallel (as in
    # production) and in rounds until each worker has served some, at most five rounds.
    for _round in range(5):
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: _income(sandbox), range(40)))
        assert all(resp.status_code == 200 for resp in answers), [r.text for r in answers if r.status_code != 200][:1]
        sent += len(answers)
        # the workers report their figures every few seconds; between them they served all sent
        _wait_for(lambda: sum(_client_requests(p) for p in proms) - sum(before) == sent, what="the workers' figures")
        if all(_client_requests(p) > b for p, b in zip(proms, before)):
            break
    assert all(_client_requests(p) > b for p, b in zip(proms, before)), [_client_requests(p) for p in proms]


def test_a_killed_worker_is_replaced_and_its_figures_kept(sandbox):
    import signal

    gw = next(g for g in sandbox["gateways"] if g["id"] == "FI/GOV/0245437-2/gw1")
    main = _pid_of(sandbox, gw["process"])
    worker, other = _workers_of(main)
    # a worker dumps its figures every few seconds: wait for the first dumps, or a worker killed
    # right after the sandbox started has nothing to keep (the test then depended on the tests before it)
    dumps = [Path(gw["directory"]) / "workers" / f"worker-{i}.prom" for i in (1, 2)]
    _wait_for(lambda: all(p.is_file() for p in dumps), what="the workers' first figures")
    os.kill(worker, signal.SIGKILL)
    # the other worker goes on serving meanwhile
    for _ in range(5):
        assert _income(sandbox).status_code == 200
    [successor] = _wait_for(lambda: [p for p in _workers_of(main) if p not in (worker, other)], what="a new worker")
    assert sorted(_workers_of(main)) == sorted([other, successor])
    assert (Path(gw["directory"]) / "workers" / "retired.prom").is_file()
    for _ in range(10):
        assert _income(sandbox).status_code == 200


def test_workers_stop_when_their_gateway_is_killed(sandbox):
    import signal

    gw = next(g for g in sandbox["gateways"] if g["id"] == "FI/GOV/0242431-1/gw1")
    main = _pid_of(sandbox, gw["process"])
    workers = _workers_of(main)
    assert len(workers) == 2
    os.kill(main, signal.SIGKILL)  # no chance to stop its workers: they notice on their own

    def gone(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].startswith("Z")
        except OSError:
            return True

    try:
        _wait_for(lambda: all(gone(p) for p in workers), timeout=10, what="the orphaned workers to stop")
    finally:
        _stop(sandbox, gw["process"])
        _restart(sandbox, gw["process"])
        _wait_for(lambda: _listening(gw["is_url"]), timeout=60, what="the restarted gateway")
    other = httpx.get(_gw(sandbox, TAX) + "/r1/FI/GOV/0242431-1/dvv/residents/010190-123M",
                      headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert other.status_code == 200, other.text


def _listening(url: str) -> bool:
    try:
        return httpx.get(url + "/listClients", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
