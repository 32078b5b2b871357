"""Live changes against running gateways (issue 17): nothing here restarts a node after its change.

One sandbox (``sild sandbox up``: authorities, trust services, four gateways, all
separate processes). The consumer gateway EE/GOV/70000001/gw1 is switched to two
worker processes first (``sild gateway set ... workers=2``, which warns that it needs
a restart, then ``sild sandbox restart``); from then on every change is made beside
the running processes with the CLI or the admin API:

* ``allowed_federations`` edited to none: the partner's configuration leaves the
  workers and an exchange to FI fails; edited back to FI: it is downloaded again and
  the exchange passes;
* an access right revoked, a service disabled on the provider: the running provider
  refuses within seconds;
* the member's sign key renewed, its certificate issued and imported: the next
  exchange's request is signed with the new certificate;
* an anchor posted to the admin API is verified against its sources; one of another
  instance is refused with a one-line reason;
* a CA the authority approves and then removes: a peer certified by it gets through the
  mutual-TLS handshake of both workers, then fails it;
* the authority rotates its internal signing key (operator guide section 4): the
  gateway whose operator ran ``sild gateway anchor install`` keeps verifying the
  configuration, the one whose operator did not fails with ``unknown_verification_cert``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import sqlite3
import ssl
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from federation.anchor import anchor_fingerprint
from gateway.sandbox import _processes as processes
from trust.protocol import ServiceId, build_request, parse_client

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

TAX = parse_client("EE/GOV/70000001/tax")
TAX_GW = "EE/GOV/70000001/gw1"
VERO_GW = "FI/GOV/0245437-2/gw1"
VERO_SVC = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
VERO_NS = "http://vero.sandbox.sild.eu/producer"


def _sild(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(processes.sild_command(*args), capture_output=True, text=True, timeout=240,
                          env={**os.environ, "SILD_TOKEN_PIN": "sandbox-pin"})


def _state(root: Path) -> dict[str, Any]:
    return json.loads((root / "sandbox.json").read_text())


def _gateway(root: Path, gateway_id: str) -> dict[str, Any]:
    return next(g for g in _state(root)["gateways"] if g["id"] == gateway_id)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox")
    result = _sild("sandbox", "up", str(root), "--owner-pid", str(os.getpid()))
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        changed = _sild("gateway", "set", _gateway(root, TAX_GW)["directory"], "workers=2")
        assert changed.returncode == 0, changed.stderr
        assert "sild: warning: workers takes effect at the next restart of the node" in changed.stderr
        restarted = _sild("sandbox", "restart", str(root), TAX_GW)
        assert restarted.returncode == 0, restarted.stderr[-3000:]
        yield root
    finally:
        down = _sild("sandbox", "down", str(root))
        assert down.returncode == 0, down.stderr


def _ask_vero(root: Path, purpose: str | None = None) -> tuple[int, str, str]:
    """One SOAP exchange EE tax -> FI vero (declaring ``purpose``, issue 20); (HTTP status, body, query id)."""
    query_id = str(uuid.uuid4())
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = "010190-123M"
    message = build_request(client=TAX, service=VERO_SVC, query_id=query_id, body=body, user_id="EE38001010000",
                            purpose=purpose)
    resp = httpx.post(_gateway(root, TAX_GW)["is_url"] + "/", content=message,
                      headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=60, trust_env=False)
    return resp.status_code, resp.text, query_id


def _within(seconds: float, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.5)


def _passes(root: Path) -> bool:
    return _ask_vero(root)[0] == 200


def _refused(root: Path, word: str) -> Callable[[], bool]:
    def check() -> bool:
        status, text, _ = _ask_vero(root)
        return status != 200 and word in text
    return check


def test_allowed_federations_edits_are_followed_by_the_running_workers(sandbox):
    gdir = _gateway(sandbox, TAX_GW)["directory"]
    assert _passes(sandbox)
    assert _sild("gateway", "set", gdir, "allowed_federations=none").returncode == 0
    _within(20, _refused(sandbox, "FI"))  # no configuration of FI in any worker
    edited = _sild("gateway", "set", gdir, "allowed_federations=FI")
    assert edited.returncode == 0 and "warning" not in edited.stderr
    _within(30, lambda: _passes(sandbox))  # downloaded again, without a restart
    assert (Path(gdir) / "conf" / "FI").is_dir()


def test_a_revoked_right_is_refused_by_the_running_provider(sandbox):
    vero = _gateway(sandbox, VERO_GW)["directory"]
    service = VERO_SVC.to_text()
    assert _sild("gateway", "access", "revoke", vero, service, TAX.to_text()).returncode == 0
    try:
        _within(10, _refused(sandbox, "access_denied"))
    finally:
        assert _sild("gateway", "access", "grant", vero, service, TAX.to_text()).returncode == 0
    _within(10, lambda: _passes(sandbox))


def test_a_disabled_service_is_refused_by_the_running_provider(sandbox):
    vero = _gateway(sandbox, VERO_GW)["directory"]
    service = VERO_SVC.to_text()
    assert _sild("gateway", "service", "disable", vero, service, "--notice", "Closed for the test").returncode == 0
    try:
        _within(10, _refused(sandbox, "Closed for the test"))
    finally:
        assert _sild("gateway", "service", "enable", vero, service).returncode == 0
    _within(10, lambda: _passes(sandbox))


def test_a_renewed_sign_key_signs_the_next_exchange(sandbox, tmp_path):
    gdir = Path(_gateway(sandbox, TAX_GW)["directory"])
    renewed = _sild("gateway", "key", "renew", str(gdir), "sign")
    assert renewed.returncode == 0, renewed.stderr
    csr = next(p for p in (gdir / "csr").glob("sign-*.csr.pem"))
    issued = _sild("trust", "issue", str(sandbox / "EE" / "trust"), "--kind", "sign", "--member", "EE/GOV/70000001",
                   "--csr", str(csr), "--out", str(tmp_path / "sign-new"))
    assert issued.returncode == 0, issued.stderr
    assert _sild("gateway", "cert", "import", str(gdir), str(tmp_path / "sign-new.pem")).returncode == 0
    new_der = x509.load_pem_x509_certificate((tmp_path / "sign-new.pem").read_bytes()).public_bytes(
        serialization.Encoding.DER)

    def signed_with_new() -> bool:
        status, text, query_id = _ask_vero(sandbox)
        assert status == 200, text  # no exchange fails while the key changes
        with sqlite3.connect(f"file:{gdir / 'messagelog.db'}?mode=ro", uri=True) as db:
            signature = db.execute("SELECT signature FROM ml_record WHERE query_id = ? AND direction = 'request'",
                                   (query_id,)).fetchone()[0]
        return base64.b64encode(new_der)[:60] in bytes(signature)

    # every exchange passes meanwhile: a worker switches once it holds the new certificate's OCSP response
    deadline = time.monotonic() + 20
    while not signed_with_new():
        assert time.monotonic() < deadline, "the renewed key did not sign within 20 s"
        time.sleep(0.3)
    assert all(_passes(sandbox) for _ in range(4))



def test_an_anchor_posted_to_the_admin_api_is_verified_and_one_of_another_instance_refused(sandbox):
    gw = _gateway(sandbox, TAX_GW)
    key = Path(gw["admin_key_file"]).read_text().strip()
    client = httpx.Client(base_url=gw["admin_url"], verify=ssl.create_default_context(cafile=gw["admin_cert_file"]),
                          trust_env=False, timeout=60,
                          headers={"X-API-Key": key, "Content-Type": "application/xml"})
    current = (Path(gw["directory"]) / "anchor.xml").read_bytes()
    ok = client.post("/api/v1/anchor", content=current)
    assert ok.status_code == 200, ok.text
    assert ok.json()["fingerprint"] == anchor_fingerprint(current) and ok.json()["unchanged"] is True
    assert client.get("/api/v1/anchor").json()["fingerprint"] == anchor_fingerprint(current)
    other = client.post("/api/v1/anchor", content=(sandbox / "FI" / "anchor-internal.xml").read_bytes())
    assert other.status_code == 422
    assert other.json()["code"] == "gateway.anchor.refused" and "instance FI" in other.json()["message"]
    assert (Path(gw["directory"]) / "anchor.xml").read_bytes() == current


def _conf_status(gdir: str) -> dict[str, Any]:
    return json.loads((Path(gdir) / "conf" / "status.json").read_text())["EE"]  # type: ignore[no-any-return]


def test_an_authority_key_rotation_needs_only_an_anchor_install_on_the_running_gateway(sandbox, tmp_path):
    """Operator guide section 4: new key (pending), new anchor installed on the gateway, key activated."""
    central = str(sandbox / "EE" / "central")
    gdir = _gateway(sandbox, TAX_GW)["directory"]
    other = _gateway(sandbox, "EE/GOV/70000002/gw1")["directory"]  # its operator installs nothing
    created = _sild("central", "key", "create", central, "--kind", "internal")
    assert created.returncode == 0, created.stderr
    key_id = created.stdout.split()[0]
    assert _sild("central", "anchor", central, "--internal", "--out", str(tmp_path / "new.xml")).returncode == 0
    installed = _sild("gateway", "anchor", "install", gdir, str(tmp_path / "new.xml"))
    assert installed.returncode == 0, installed.stderr
    assert f"anchor SHA-224: {anchor_fingerprint((tmp_path / 'new.xml').read_bytes())}" in installed.stdout

    assert _sild("central", "key", "activate", central, key_id).returncode == 0
    # the authority now signs with the new key: a gateway without the new anchor cannot verify it ...
    _within(40, lambda: _conf_status(other).get("error", {}).get("code") == "federation.conf.unknown_verification_cert")
    refused_at = dt.datetime.fromisoformat(_conf_status(other)["lastAttempt"])

    # ... the one that installed it, running all along, downloads and verifies it
    def verified_since_then() -> bool:
        status = _conf_status(gdir)
        return status["ok"] is True and dt.datetime.fromisoformat(status["lastSuccess"]) > refused_at

    _within(20, verified_since_then)
    assert _passes(sandbox)


def _handshakes(address: str, cert: Path, key: Path) -> bool:
    """Whether the running gateway's mutual-TLS port completes a request with this client certificate
    (the server proxy then refuses an unregistered peer in HTTP: what matters is that TLS let it through)."""
    host, _, port = address.rpartition(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(str(cert), str(key), password="sandbox-pin")
    try:
        with socket.create_connection((host, int(port)), timeout=10) as raw, ctx.wrap_socket(raw) as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: peer\r\nConnection: close\r\n\r\n")
            return tls.recv(64).startswith(b"HTTP/1.1 ")
    except (ssl.SSLError, ConnectionError):
        return False


def test_a_ca_removed_from_the_configuration_fails_the_next_handshake_on_every_worker(sandbox, tmp_path):
    from trust.pki import EJBCA_PROFILE

    central = str(sandbox / "EE" / "central")
    address = _gateway(sandbox, TAX_GW)["peer_address"]
    ca = tmp_path / "extra-ca"
    assert _sild("trust", "init", str(ca), "--instance", "EE", "--key-type", "ec-p256").returncode == 0
    issued = _sild("trust", "issue", str(ca), "--kind", "auth", "--member", "EE/GOV/70000001", "--server", "other",
                   "--out", str(tmp_path / "peer"))
    assert issued.returncode == 0, issued.stderr
    cert, key = tmp_path / "peer.pem", tmp_path / "peer.key"
    assert not _handshakes(address, cert, key)  # a CA the configuration does not approve

    added = _sild("central", "ca", "add", central, "--name", "extra", "--cert", str(ca / "certs" / "root.pem"),
                  "--profile", EJBCA_PROFILE)
    assert added.returncode == 0, added.stderr
    _within(40, lambda: all(_handshakes(address, cert, key) for _ in range(6)))  # both workers trust it

    assert _sild("central", "ca", "remove", central, "--name", "extra").returncode == 0
    _within(40, lambda: not any(_handshakes(address, cert, key) for _ in range(6)))  # no restart
    assert _passes(sandbox)


def test_a_purpose_bound_grant_made_beside_the_running_provider_expires_by_itself(sandbox):
    """Issue 20 on running processes: the CLI grants with a purpose and a window of seconds;
    the running provider admits the declared purpose, refuses a missing one, and refuses
    the same request once the window has passed, with nothing run in between."""
    vero = _gateway(sandbox, VERO_GW)["directory"]
    service = VERO_SVC.to_text()
    assert _sild("gateway", "access", "revoke", vero, service, TAX.to_text()).returncode == 0
    try:
        # a window long enough for a loaded host's CLI and node to take the grant before it ends
        until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=45)).isoformat()
        granted = _sild("gateway", "access", "grant", vero, service, TAX.to_text(), "--purpose", "tax-assessment",
                        "--valid-until", until)
        assert granted.returncode == 0 and "for tax-assessment until" in granted.stdout, granted.stderr
        _within(20, lambda: _ask_vero(sandbox, "tax-assessment")[0] == 200)
        status, text, query_id = _ask_vero(sandbox)
        assert status != 200 and "server.serverproxy.access_denied" in text and "purpose required" in text
        _, other, _ = _ask_vero(sandbox, "marketing")
        assert "purpose not granted: 'marketing'" in other
        _within(80, lambda: "grant expired" in _ask_vero(sandbox, "tax-assessment")[1])
    finally:
        assert _sild("gateway", "access", "revoke", vero, service, TAX.to_text()).returncode == 0
        assert _sild("gateway", "access", "grant", vero, service, TAX.to_text()).returncode == 0
    _within(10, lambda: _passes(sandbox))  # X-Road's plain right again: no purpose needed
