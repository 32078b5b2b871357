"""A gateway node: status, timestamping job, OCSP-responses endpoint, refusing to start without configuration."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid

import httpx
import pytest
from lxml import etree

from gateway.node import GatewayNode
from gateway.net import OcspResponsesApp
from gateway.net._peer_transport import parse_ocsp_multipart
from gateway.settings import SetupError
from trust.protocol import build_request
from trust.protocol import ServiceId

from tests.gateway._world import TAX
from tests.support.pki import self_signed_tls_files

NOW = dt.datetime.now(dt.timezone.utc)


def test_status_reports_configuration_ocsp_and_registration(world):
    node = world.gateway_of(TAX)
    status = node.status()
    assert status["registration"] == "registered"
    assert status["configuration"]["EE"]["valid"] and status["configuration"]["FI"]["valid"]
    assert status["ocsp"]["last_error"] is None and "auth" in status["ocsp"]["have"]


def test_status_tells_each_own_certificate_s_ocsp_window(world):
    node = world.gateway_of(TAX)
    ocsp = node.status()["ocsp"]
    assert ocsp["refresh_interval_seconds"] == node.settings.ocsp_interval_seconds
    assert ocsp["freshness_seconds"] == world.shared["EE"].ocsp_freshness_seconds  # from global configuration
    auth = ocsp["certificates"]["auth"]
    assert auth["status"] == "good" and auth["serial"] == format(node.auth_chain[0].serial_number, "x")
    this_update = dt.datetime.fromisoformat(auth["this_update"].replace("Z", "+00:00"))
    assert auth["accepted_until"] == (this_update + dt.timedelta(seconds=3600)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert set(ocsp["certificates"]) == {"auth", "sign"}


def test_admin_api_status_and_ocsp_refresh(world):
    from gateway.admin import create_app
    from gateway.net import WsgiServer
    from gateway.serverconf import create_api_key

    node = world.gateway_of(TAX)
    keys = {role: create_api_key(node.serverconf, [role], f"node test {role}")[1] for role in ("admin", "viewer")}
    server = WsgiServer(create_app(node), "127.0.0.1", 0, name="admin-test").start()
    try:
        def call(method, path, role):
            return httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {keys[role]}"}, timeout=30)

        status = call("GET", "/api/v1/status", "viewer").json()
        assert status["registration"] == "registered" and status["configuration"]["EE"]["valid"] is True
        before = status["ocsp"]["last_refresh"]
        assert status["ocsp"]["certificates"]["auth"]["status"] == "good"
        forbidden = call("POST", "/api/v1/ocsp/refresh", "viewer")
        assert (forbidden.status_code, forbidden.json()["code"]) == (403, "gateway.admin.forbidden")
        time.sleep(1.1)  # the report has whole seconds
        refreshed = call("POST", "/api/v1/ocsp/refresh", "admin")
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["last_error"] is None and refreshed.json()["last_refresh"] > before
        assert refreshed.json()["certificates"]["sign"]["status"] == "good"
        spec = httpx.get(server.url + "/api/v1/openapi.json", timeout=30).json()
        assert "post" in spec["paths"]["/api/v1/ocsp/refresh"]
    finally:
        server.stop()


def test_responses_fetched_beside_the_node_are_served_at_its_next_ocsp_check(world):
    """`sild gateway ocsp refresh` runs in another process: the node serves what it stored."""
    from gateway.signing import OwnOcspStore

    node = world.gateway_of(TAX)
    served = node.own_ocsp.for_key("auth")
    time.sleep(1.1)  # a new thisUpdate, so the new response differs from the served one
    beside = OwnOcspStore(node.directory / "ocsp", {"auth": node.auth_chain[0]}, node.policy_for, "EE")
    try:
        beside.refresh(dt.datetime.now(dt.timezone.utc))
    finally:
        beside.close()
    stored = (node.directory / "ocsp" / "auth.ocsp").read_bytes()
    assert [stored] != served
    node.refresh_ocsp(only_if_due=True)  # the job's check; not due, so nothing is fetched
    assert node.own_ocsp.for_key("auth") == [stored]


def test_timestamping_job_stamps_the_log(world):
    node = world.gateway_of(TAX)
    body = etree.Element("{http://vero.sandbox.sild.eu/producer}getTaxRecord")
    etree.SubElement(body, "{http://vero.sandbox.sild.eu/producer}personCode").text = "010190-123M"
    msg = build_request(client=TAX, service=ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1"),
                        query_id=str(uuid.uuid4()), body=body)
    assert httpx.post(node.is_url + "/", content=msg, headers={"Content-Type": "text/xml"}, timeout=30).status_code == 200
    assert node.timestamp_now() >= 2
    assert not node.messagelog.timestamping_overdue()


def test_ocsp_responses_app():
    calls = []

    def lookup(sha1):
        calls.append(sha1)
        return [b"\x30\x03\x0a\x01\x00"] if sha1 == "a" * 40 else []

    app = OcspResponsesApp(lookup)

    def call(qs, method="GET"):
        out = {}

        def start_response(status, headers):
            out["status"], out["headers"] = status, dict(headers)

        body = b"".join(app({"REQUEST_METHOD": method, "QUERY_STRING": qs}, start_response))
        return out["status"], out["headers"], body

    status, headers, body = call(f"cert={'A' * 40}&cert_hash={'b' * 64}")
    assert status.startswith("200") and parse_ocsp_multipart(headers["Content-Type"], body) == [b"\x30\x03\x0a\x01\x00"]
    assert call(f"cert={'c' * 40}")[0].startswith("404")
    assert call("cert=zz")[0].startswith("400")
    assert call("")[0].startswith("400")
    assert call(f"cert={'a' * 40}", method="POST")[0].startswith("405")


def test_worker_processes_need_the_stored_configuration(world):
    """Workers read conf/ from the gateway directory; an injected source cannot reach them."""
    node = world.gateway_of(TAX)
    other = GatewayNode(node.directory, conf_source=world.conf)
    try:
        with pytest.raises(SetupError, match="worker processes"):
            other.start(jobs=False, workers=2)
        assert other.workers is None and not other._servers  # noqa: SLF001 - nothing was bound
    finally:
        other.stop()


def test_node_refuses_to_start_without_configuration(world):
    directory = world.gateway_of(TAX).directory
    node = GatewayNode(directory, conf_source=lambda: {})
    try:
        with pytest.raises(SetupError):
            node.start(jobs=False)
    finally:
        node.stop()


def test_operational_monitoring_and_metrics_record_exchanges(world):
    import time

    node = world.gateway_of(TAX)
    provider = world.gateways["FI/GOV/0245437-2/gw1"]
    ok = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                   headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert ok.status_code == 200
    denied = httpx.get(node.is_url + "/r1/FI/GOV/0242431-1/dvv/nothing",
                       headers={"X-Road-Client": "EE/GOV/70000001/unknown"}, timeout=30)
    assert denied.status_code == 500
    node.monitoring.flush()
    provider.monitoring.flush()
    now = int(time.time())
    records = node.opmonitor.query(now - 60, now + 60).records
    mine = [r for r in records if r.get("messageId") == ok.headers["X-Road-Id"]]
    assert mine and mine[0]["securityServerType"] == "Client" and mine[0]["succeeded"] is True
    assert mine[0]["serviceCode"] == "income" and mine[0]["serviceType"] == "REST"
    assert any(r.get("faultCode") == "server.clientproxy.unknown_member" for r in records)
    theirs = [r for r in provider.opmonitor.query(now - 60, now + 60).records
              if r.get("messageId") == ok.headers["X-Road-Id"]]
    assert theirs and theirs[0]["securityServerType"] == "Producer"
    if node.metrics is not None:
        text, _ = node.metrics.render()
        assert b"sild_gateway_requests_total" in text


def _is_client_cert(tmp_path):
    """A self-signed IS certificate and key, as an information system would have."""
    cert_path, key_path, _ = self_signed_tls_files(tmp_path, stem="is", common_name="tax-is",
                                                   not_before=NOW - dt.timedelta(days=1),
                                                   not_after=NOW + dt.timedelta(days=30))
    return cert_path, key_path


def test_https_is_port_and_https_cert_authentication(world, tmp_path):
    import ssl
    import time

    node = world.gateway_of(TAX)
    cert_path, key_path = _is_client_cert(tmp_path)
    url = f"https://127.0.0.1:{node.settings.is_tls_port}/r1/FI/GOV/0245437-2/vero/income/010190-123M"
    pinned = ssl.create_default_context(cafile=str(node.directory / "certs" / "internal.pem"))
    pinned.check_hostname = False  # the internal certificate is pinned, not named after a host
    with_cert = ssl.create_default_context(cafile=str(node.directory / "certs" / "internal.pem"))
    with_cert.check_hostname = False
    with_cert.load_cert_chain(str(cert_path), str(key_path))
    headers = {"X-Road-Client": TAX.to_text()}
    node.serverconf.set_client_auth(TAX, "https-cert")
    node.serverconf.add_client_cert(TAX, cert_path.read_bytes())
    node.reload_is_certs()
    time.sleep(1.2)  # the snapshot notices the change counter within a second
    try:
        ok = httpx.get(url, headers=headers, verify=with_cert, timeout=30)
        assert ok.status_code == 200, ok.text
        no_cert = httpx.get(url, headers=headers, verify=pinned, timeout=30)
        assert no_cert.status_code == 400 and no_cert.headers["X-Road-Error"] == "client.ssl_authentication_failed"
        plain = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M", headers=headers, timeout=30)
        assert plain.headers["X-Road-Error"] == "client.ssl_authentication_failed"
    finally:
        node.serverconf.set_client_auth(TAX, "http")
        time.sleep(1.2)


def test_own_ocsp_refresh_is_due_when_missing_failed_or_old(world):
    store = world.gateway_of(TAX).own_ocsp
    now = dt.datetime.now(dt.timezone.utc)
    assert not store.due(now, 600)
    assert store.due(now + dt.timedelta(seconds=601), 600)
    saved = dict(store._responses)
    store._responses.pop("sign")
    try:
        assert store.due(now, 600)
    finally:
        store._responses.update(saved)


def test_housekeeping_jobs_are_scheduled_and_run(world):
    """Archiving of the message log and retention of monitoring records run in the node's scheduler."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from gateway.messagelog import verify_archive_chain

    node = world.gateway_of(TAX)
    ok = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                   headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert ok.status_code == 200
    assert node.timestamp_now() > 0  # archiving takes timestamped records only
    sched = BackgroundScheduler()
    node._schedule_housekeeping(sched)  # noqa: SLF001 - what start() does with its scheduler
    jobs = {job.id: job for job in sched.get_jobs()}
    assert {"messagelog-archiving", "opmonitoring-cleanup"} <= set(jobs)
    for job in jobs.values():  # each runs cleanly against the node's real databases
        job.func(*job.args, **job.kwargs)
    archives = sorted((node.directory / "archive").glob("*.zip"))
    assert archives and verify_archive_chain(archives) > 0
