"""Gateway registration: signed by the owner's sign key and the auth key, verified against
the approved CA (chain, OCSP, certificate profile), approved or declined atomically."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from federation.central.api import CentralAppConfig, create_app
from federation.central import generate
from federation.central import build_registration_request, verify_registration_request
from federation.central.registry import CentralDir
from federation.central.registry import init_central
from federation.model import SharedParameters
from federation.model import parse_shared_parameters
from trust.keys import SignatureAlgorithm
from trust.protocol import MemberId

from tests.federation.central.central_support import PIN, GatewayPki

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
TAX = MemberId("EE", "GOV", "70000001")
BANK = MemberId("EE", "COM", "10000001")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> GatewayPki:
    value = GatewayPki(tmp_path_factory.mktemp("pki"), "EE", NOW)
    yield value
    value.close()


@pytest.fixture
def central(tmp_path: Path, pki: GatewayPki) -> tuple[Flask, CentralDir, dict[str, str]]:
    init_central(str(tmp_path / "ee"), instance="EE", url="http://127.0.0.1:4000", pin=PIN, now=NOW)
    home = CentralDir(tmp_path / "ee", clock=lambda: NOW)
    registry = home.registry()
    fields = pki.ca_fields()
    registry.add_ca(fields["name"], fields["cert"], ocsp=fields["ocsp"], certificate_profile=fields["certificate_profile"])  # type: ignore[arg-type]
    registry.add_member(TAX, "Tax Board")
    registry.add_subsystem(TAX.subsystem("tax"), "Tax data")
    registry.add_member(BANK, "Bank")
    key = registry.create_api_key("officer", ["registration-officer"])
    app = create_app(CentralAppConfig(directory=tmp_path / "ee", clock=lambda: NOW))
    yield app, home, {"X-API-Key": key}
    home.close()


def _submit(client: FlaskClient, document: bytes):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/registration-requests", data=document, headers={"Content-Type": "application/json"})


def test_request_approved_registers_the_gateway(central: tuple[Flask, CentralDir, dict[str, str]], pki: GatewayPki) -> None:
    app, home, officer = central
    client = app.test_client()
    server = TAX.server("ss1")
    document, auth = pki.request(server, clients=[TAX.subsystem("tax")], address="ss1.tax.ee")
    submitted = _submit(client, document)
    assert submitted.status_code == 202, submitted.json
    assert submitted.json["status"] == "submitted"
    assert submitted.json["authCertSha256"] == hashlib.sha256(pki.der(auth)).hexdigest()
    assert home.registry().gateways() == []  # nothing registered before the operator decides
    pending = client.get("/api/v1/registration-requests?status=submitted", headers=officer).json
    assert [r["server"] for r in pending] == ["EE/GOV/70000001/ss1"]

    approved = client.post(f"/api/v1/registration-requests/{submitted.json['id']}/approve", headers=officer)
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    assert approved.json["decidedBy"] == "officer"
    again = client.post(f"/api/v1/registration-requests/{submitted.json['id']}/decline", headers=officer)
    assert (again.status_code, again.json["error"]) == (400, "federation.registry.request_closed")

    generate(home, home.token(PIN), now=NOW + dt.timedelta(seconds=1))
    shared = parse_shared_parameters(sorted((home.public_dir / "V6").glob("*/shared-params.xml"))[-1].read_bytes())
    gateway = shared.server_by_auth_cert(pki.der(auth))
    assert gateway is not None and gateway.server_id == server and gateway.address == "ss1.tax.ee"
    assert gateway.clients == (TAX.subsystem("tax"),)


def test_decline_registers_nothing(central: tuple[Flask, CentralDir, dict[str, str]], pki: GatewayPki) -> None:
    app, home, officer = central
    client = app.test_client()
    document, _ = pki.request(TAX.server("ss2"))
    request_id = _submit(client, document).json["id"]
    declined = client.post(f"/api/v1/registration-requests/{request_id}/decline", json={"comment": "unknown host"}, headers=officer)
    assert declined.json["status"] == "declined" and declined.json["comment"] == "unknown host"
    assert home.registry().gateways() == []


def test_approval_is_all_or_nothing(central: tuple[Flask, CentralDir, dict[str, str]], pki: GatewayPki) -> None:
    app, home, officer = central
    client = app.test_client()
    document, _ = pki.request(TAX.server("ss3"), clients=[TAX.subsystem("tax"), TAX.subsystem("later")])
    request_id = _submit(client, document).json["id"]
    serial = home.registry().info().serial
    refused = client.post(f"/api/v1/registration-requests/{request_id}/approve", headers=officer)
    assert (refused.status_code, refused.json["error"]) == (404, "federation.registry.unknown_subsystem")
    assert home.registry().gateways() == []
    assert home.registry().info().serial == serial
    assert client.get("/api/v1/registration-requests", headers=officer).json[0]["status"] == "submitted"
    home.registry().add_subsystem(TAX.subsystem("later"))  # the operator fixes the registry, then approves
    assert client.post(f"/api/v1/registration-requests/{request_id}/approve", headers=officer).status_code == 200
    assert home.registry().gateways()[0]["clients"] == ["EE/GOV/70000001/tax", "EE/GOV/70000001/later"]


def test_a_replayed_request_is_refused_while_pending_and_after_the_decision(
        central: tuple[Flask, CentralDir, dict[str, str]], pki: GatewayPki) -> None:
    app, home, officer = central
    client = app.test_client()
    server = TAX.server("ss5")
    sign_id, sign = pki.sign_cert(TAX)
    auth_id, auth = pki.auth_cert(server)

    def document(nonce: str) -> bytes:
        return build_registration_request(
            server=server, address="ss5.tax.ee", auth_cert=auth, sign_cert=sign, sign_ocsp=pki.ocsp(sign),
            auth_ocsp=pki.ocsp(auth), owner_signer=pki.token, sign_key_id=sign_id, auth_signer=pki.token,
            auth_key_id=auth_id, created_at=NOW, nonce=nonce)

    first = document("01" * 16)
    request_id = _submit(client, first).json["id"]
    reformatted = json.dumps(json.loads(first)).encode()  # same signed payload, other outer bytes
    another = document("02" * 16)  # a fresh request for the same certificate while the first waits
    for replay in (first, reformatted, another):
        refused = _submit(client, replay)
        assert (refused.status_code, refused.json["error"]) == (409, "federation.registry.duplicate_request")
        assert f"request {request_id}" in refused.json["message"]
    assert [r["id"] for r in client.get("/api/v1/registration-requests", headers=officer).json] == [request_id]

    client.post(f"/api/v1/registration-requests/{request_id}/decline", headers=officer)
    replayed = _submit(client, first)
    assert (replayed.status_code, replayed.json["error"]) == (409, "federation.registry.duplicate_request")
    assert "declined" in replayed.json["message"]
    again = _submit(client, document("03" * 16))  # after a decision the owner may ask again
    assert again.status_code == 202 and again.json["id"] != request_id
    assert len(client.get("/api/v1/registration-requests", headers=officer).json) == 2


def _tamper(document: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    outer = json.loads(document)
    change(outer)
    return json.dumps(outer).encode()


def _edit_payload(outer: dict, **fields: object) -> None:  # type: ignore[type-arg]
    payload = json.loads(base64.b64decode(outer["payload"]))
    payload.update(fields)
    outer["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()


def test_refusals_are_specific(central: tuple[Flask, CentralDir, dict[str, str]], pki: GatewayPki) -> None:
    app, home, _ = central
    client = app.test_client()
    server = TAX.server("ss9")
    good, _ = pki.request(server)
    other_auth_id, _ = pki.auth_cert(TAX.server("other"))
    cases = {
        "not json": (b"{", "federation.registration.malformed"),
        "changed payload": (_tamper(good, lambda o: _edit_payload(o, address="evil.example")), "federation.registration.bad_signature"),
        "auth signature from another key": (
            _tamper(good, lambda o: o["authSignature"].update(
                value=base64.b64encode(pki.token.sign(other_auth_id, SignatureAlgorithm.RSA_SHA512,
                                                      hashlib.sha512(base64.b64decode(o["payload"])).digest())).decode())),
            "federation.registration.bad_signature"),
        "no OCSP": (_tamper(good, lambda o: o["ownerSignature"].pop("ocspResponse")), "federation.registration.malformed"),
        "signed by another member": (pki.request(server, signer_member=BANK)[0], "federation.registration.wrong_owner"),
        "too old": (pki.request(server, created_at=NOW - dt.timedelta(hours=2))[0], "federation.registration.stale"),
        "other instance": (_tamper(good, lambda o: _edit_payload(o, instance="FI")), "federation.registration.malformed"),
        "owner not a member": (pki.request(MemberId("EE", "GOV", "99999999").server("x"))[0], "federation.registry.unknown_member"),
    }
    for name, (document, error) in cases.items():
        response = _submit(client, document)
        assert 400 <= response.status_code < 500, name
        assert response.json["error"] == error, (name, response.json)
    assert client.get("/api/v1/registration-requests", headers={"X-API-Key": "x"}).status_code == 401
    assert home.registry().gateways() == []


def test_certificates_must_chain_to_an_approved_ca(pki: GatewayPki, tmp_path: Path) -> None:
    stranger = GatewayPki(tmp_path, "EE", NOW)  # a CA nobody approved
    try:
        document, _ = stranger.request(TAX.server("ss1"))
        policy = SharedParameters("EE").to_trust_policy()  # no approved CA at all
        with pytest.raises(Exception) as info:
            verify_registration_request(document, policy, at=NOW)
        assert getattr(info.value, "code", "") == "federation.registration.untrusted_certificate"
    finally:
        stranger.close()
