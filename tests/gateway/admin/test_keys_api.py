"""``/api/v1/tokens``, ``/api/v1/keys`` and ``/api/v1/certificates`` over real HTTP: a real gateway
directory, a real CA, a SoftHSM2 token; the same requests and refusals as ``sild gateway
token|key|cert``, the PIN never in the audit log, every change the admin role's (issue 17)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cheroot import wsgi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from gateway.admin import create_app
from gateway.admin._app import AdminConfig
from gateway.db import open_engine
from gateway.provision import init_gateway, open_registry
from gateway.serverconf import ServerConf, create_api_key
from trust.protocol import MemberId
from trust.services import CertificateAuthority

from tests.support.softhsm import SoftHsm, make_token

NOW = dt.datetime.now(dt.timezone.utc)
PIN = "gw-pin-5150"
HOSTED = MemberId("EE", "COM", "20000002")


class Served:
    def __init__(self, gdir: Path, config: AdminConfig) -> None:
        self.gdir, self.conf = gdir, config.conf
        self.tokens = {role: create_api_key(config.conf, [role], role)[1] for role in ("admin", "viewer")}
        self.server = wsgi.Server(("127.0.0.1", 0), create_app(config))
        self.server.prepare()
        threading.Thread(target=self.server.serve, daemon=True).start()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.server.bind_addr[1]}", timeout=30, trust_env=False)

    def call(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers={"Authorization": f"Bearer {self.tokens[role]}",
                                                        **kwargs.pop("headers", {})}, **kwargs)

    def stop(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture
def gdir(tmp_path: Path) -> Path:
    directory = tmp_path / "gw"
    init_gateway(directory, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN)
    return directory


@pytest.fixture
def ca(tmp_path: Path) -> Iterator[CertificateAuthority]:
    authority = CertificateAuthority.init(tmp_path / "ca", instance="EE", pin="ca-pin", now=NOW)
    yield authority
    authority.close()


def _serve(tmp_path: Path, gdir: Path, *, node_registry: bool) -> Served:
    conf = ServerConf(open_engine(tmp_path / "serverconf.db"), refresh_interval=0)
    keys = open_registry(gdir, PIN) if node_registry else None
    return Served(gdir, AdminConfig(conf, directory=gdir, keys=keys))


def test_a_sign_key_from_generation_to_certificate_ocsp_and_deletion(tmp_path: Path, gdir: Path,
                                                                     ca: CertificateAuthority,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SILD_TOKEN_PIN", PIN)  # no node: the app opens the directory's registry as the CLI does
    s = _serve(tmp_path, gdir, node_registry=False)
    try:
        tokens = s.call("GET", "/api/v1/tokens", "viewer").json()["tokens"]
        assert [(t["name"], t["type"], t["logged_in"], len(t["keys"])) for t in tokens] == [("soft", "soft", True, 2)]
        sign = {"usage": "sign", "type": "ec-p256", "member": HOSTED.to_text(), "label": "hosted 2026"}
        assert s.call("POST", "/api/v1/keys", "viewer", json=sign).status_code == 403
        bad = s.call("POST", "/api/v1/keys", json={**sign, "usage": "tls"})
        assert bad.status_code == 400 and "'usage' must be one of: auth, sign" in bad.json()["message"]
        subsystem = s.call("POST", "/api/v1/keys", json={**sign, "member": "EE/COM/20000002/sub"})
        assert subsystem.status_code == 400 and "is a subsystem" in subsystem.json()["message"]
        foreign = s.call("POST", "/api/v1/keys", json={**sign, "member": "FI/COM/123"})
        assert foreign.status_code == 400 and "not a member of instance EE" in foreign.json()["message"]

        made = s.call("POST", "/api/v1/keys", json=sign)
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        assert (key["usage"], key["algorithm"], key["state"], key["label"], key["member"], key["certificates"]) == (
            "sign", "ec-p256", "active", "hosted 2026", HOSTED.to_text(), [])
        csr = x509.load_pem_x509_csr(made.json()["csr"].encode())
        assert csr.is_signature_valid and csr.subject.rfc4514_string() == "CN=20000002,O=COM,C=EE"
        assert (gdir / "csr" / f"{key['id']}.csr.pem").read_text() == made.json()["csr"]  # where the CLI writes it
        again = s.call("POST", f"/api/v1/keys/{key['id']}/csr").json()
        assert x509.load_pem_x509_csr(again["csr"].encode()).public_key() == csr.public_key()
        assert s.call("POST", "/api/v1/keys/nokey/csr").json()["code"] == "trust.key.not_found"

        cert = ca.issue_sign(HOSTED, now=NOW, csr=again["csr"].encode()).cert
        pem = cert.public_bytes(serialization.Encoding.PEM).decode() + ca.chain_pem.decode()
        assert s.call("POST", "/api/v1/certificates", "viewer", json={"pem": pem}).status_code == 403
        garbage = s.call("POST", "/api/v1/certificates", content=b"not a cert",
                         headers={"Content-Type": "application/x-pem-file"})
        assert garbage.status_code == 400 and garbage.json()["code"] == "trust.key.certificate_invalid"
        imported = s.call("POST", "/api/v1/certificates", json={"pem": pem})
        assert imported.status_code == 201, imported.text
        cert_id = imported.json()["id"]
        assert imported.json()["key_id"] == key["id"] and imported.json()["serial"] == f"{cert.serial_number:x}"
        der = s.call("POST", "/api/v1/certificates", content=cert.public_bytes(serialization.Encoding.DER),
                     headers={"Content-Type": "application/pkix-cert"})
        assert der.status_code == 409 and der.json()["code"] == "trust.key.certificate_exists"  # DER read, same cert

        shown = s.call("GET", f"/api/v1/keys/{key['id']}", "viewer").json()
        assert [(c["id"], c["state"], c["ocsp"]) for c in shown["certificates"]] == [(cert_id, "active", None)]
        (gdir / "ocsp").mkdir(exist_ok=True)
        (gdir / "ocsp" / f"{key['id']}.ocsp").write_bytes(_ocsp_response(ca, cert))
        listed = {k["id"]: k for k in s.call("GET", "/api/v1/keys", "viewer").json()["keys"]}
        assert listed[key["id"]]["certificates"][0]["ocsp"]["status"] == "good"
        assert {k["usage"] for k in listed.values()} == {"auth", "sign"}

        assert s.call("POST", f"/api/v1/certificates/{cert_id}/disable").json()["state"] == "disabled"
        assert s.call("POST", f"/api/v1/certificates/{cert_id}/activate").json()["state"] == "active"
        assert s.call("POST", f"/api/v1/certificates/{cert_id}/revoke").status_code == 404
        assert s.call("POST", f"/api/v1/keys/{key['id']}/disable").json()["state"] == "disabled"
        assert s.call("POST", f"/api/v1/keys/{key['id']}/disable", "viewer").status_code == 403
        assert s.call("POST", f"/api/v1/keys/{key['id']}/activate").json()["state"] == "active"
        assert s.call("DELETE", f"/api/v1/certificates/{cert_id}").status_code == 204
        assert s.call("DELETE", f"/api/v1/certificates/{cert_id}").json()["code"] == "trust.key.no_such_certificate"
        assert s.call("DELETE", f"/api/v1/keys/{key['id']}", "viewer").status_code == 403
        assert s.call("DELETE", f"/api/v1/keys/{key['id']}").status_code == 204
        gone = s.call("GET", f"/api/v1/keys/{key['id']}", "viewer")
        assert gone.status_code == 404 and gone.json()["code"] == "trust.key.not_found"
    finally:
        s.stop()


def test_a_renewal_makes_a_new_key_for_the_same_member(tmp_path: Path, gdir: Path) -> None:
    s = _serve(tmp_path, gdir, node_registry=True)
    try:
        made = s.call("POST", "/api/v1/keys", json={"usage": "sign", "member": HOSTED.to_text()}).json()["key"]
        renewed = s.call("POST", f"/api/v1/keys/{made['id']}/renew", json={"type": "ec-p256"})
        assert renewed.status_code == 201, renewed.text
        new = renewed.json()["key"]
        assert new["id"] != made["id"] and (new["member"], new["algorithm"]) == (HOSTED.to_text(), "ec-p256")
        subject = x509.load_pem_x509_csr(renewed.json()["csr"].encode()).subject.rfc4514_string()
        assert subject == "CN=20000002,O=COM,C=EE"
        auth = s.call("POST", "/api/v1/keys", json={"usage": "auth", "type": "rsa2048"})
        assert auth.status_code == 201 and x509.load_pem_x509_csr(  # X-Road's profile: serialNumber names the server
            auth.json()["csr"].encode()).subject.rfc4514_string() == "2.5.4.5=EE/gw1/GOV,CN=70000001,O=GOV,C=EE"
    finally:
        s.stop()


def test_a_pkcs11_token_logs_in_with_the_pin_in_the_body_and_the_audit_log_never_holds_it(
        tmp_path: Path, gdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hsm: SoftHsm = make_token(tmp_path / "hsm", monkeypatch, label="gw1", pin="hsm-pin-never-logged")
    monkeypatch.delenv("SILD_TOKEN_PIN_HSM", raising=False)
    s = _serve(tmp_path, gdir, node_registry=True)
    try:
        registry = open_registry(gdir, PIN)
        registry.add_pkcs11_token("hsm", hsm.library, hsm.label)
        tokens = {t["name"]: t for t in s.call("GET", "/api/v1/tokens", "viewer").json()["tokens"]}
        assert (tokens["hsm"]["type"], tokens["hsm"]["logged_in"]) == ("pkcs11", False)
        assert s.call("POST", "/api/v1/tokens/hsm/login", "viewer", json={"pin": hsm.pin}).status_code == 403
        wrong = s.call("POST", "/api/v1/tokens/hsm/login", json={"pin": "wrong-pin-never-logged"})
        assert wrong.status_code == 422 and wrong.json()["code"] == "trust.key.wrong_pin"
        assert s.call("POST", "/api/v1/tokens/nohsm/login", json={"pin": "1"}).status_code == 404
        assert s.call("POST", "/api/v1/tokens/hsm/login", json={}).json()["code"] == "gateway.admin.missing_field"
        logged = s.call("POST", "/api/v1/tokens/hsm/login", json={"pin": hsm.pin})
        assert logged.status_code == 200 and logged.json()["logged_in"] is True

        made = s.call("POST", "/api/v1/keys", json={"usage": "sign", "token": "hsm", "type": "ec-p256"})
        assert made.status_code == 201, made.text  # generated inside the token it was logged in to
        assert made.json()["key"]["token"] == "hsm" and made.json()["key"]["member"] == "EE/GOV/70000001"

        soft = s.call("POST", "/api/v1/tokens/soft/logout")
        assert soft.status_code == 409 and soft.json()["code"] == "gateway.admin.soft_token_logout"
        assert s.call("POST", "/api/v1/tokens/hsm/logout").json()["logged_in"] is False
        refused = s.call("POST", "/api/v1/keys", json={"usage": "sign", "token": "hsm", "type": "ec-p256"})
        assert refused.status_code == 400 and "logged out" in refused.json()["message"]

        logins = [e for e in s.call("GET", "/api/v1/audit").json()["entries"]
                  if e["operation"] == "POST /api/v1/tokens/hsm/login"]
        assert len(logins) == 4 and all(e["params"].get("pin") in ("[redacted]", None) for e in logins)
        assert {e["params"].get("pin") for e in logins} == {"[redacted]", None}
        with s.conf.engine.connect() as db:
            stored = "\n".join(str(row) for row in db.exec_driver_sql("SELECT * FROM audit_log"))
        assert "never-logged" not in stored and "[redacted]" in stored
    finally:
        s.stop()


def _ocsp_response(ca: CertificateAuthority, cert: x509.Certificate) -> bytes:
    from trust.services._bundle import ocsp_responder

    request = ocsp.OCSPRequestBuilder().add_certificate(cert, ca.issuing_cert, hashes.SHA1()).build()
    return ocsp_responder(ca).respond(request.public_bytes(serialization.Encoding.DER),
                                      dt.datetime.now(dt.timezone.utc))


def test_a_pkcs11_token_is_added_over_the_api_as_the_cli_adds_it(tmp_path: Path, gdir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    hsm: SoftHsm = make_token(tmp_path / "hsm", monkeypatch, label="gw1", pin="hsm-pin")
    s = _serve(tmp_path, gdir, node_registry=True)
    try:
        token = {"name": "hsm", "library": str(hsm.library), "label": hsm.label}
        assert s.call("POST", "/api/v1/tokens", "viewer", json=token).status_code == 403
        missing = s.call("POST", "/api/v1/tokens", json={**token, "library": str(tmp_path / "no.so")})
        assert missing.status_code == 400 and "no file" in missing.json()["message"]
        assert s.call("POST", "/api/v1/tokens", json={**token, "name": "soft"}).json()["code"] == "trust.key.bad_token_name"
        added = s.call("POST", "/api/v1/tokens", json=token)
        assert added.status_code == 201, added.text
        assert (added.json()["name"], added.json()["type"], added.json()["logged_in"]) == ("hsm", "pkcs11", False)
        again = s.call("POST", "/api/v1/tokens", json=token)
        assert again.status_code == 409 and again.json()["code"] == "trust.key.token_exists"
        assert "hsm" in open_registry(gdir, PIN).token_names()  # recorded in the directory, as the CLI records it
        assert s.call("POST", "/api/v1/tokens/hsm/login", json={"pin": hsm.pin}).json()["logged_in"] is True
    finally:
        s.stop()
