"""X-Road's management requests of a registered gateway (issue 17): clientReg, clientDeletion,
ownerChange, addressChange, signed like the registration request, queued with it, approved
or declined by the officer, refused specifically when they do not apply."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from flask import Flask
from flask.testing import FlaskClient

from federation.central import MemberSigner, build_management_request
from federation.central.api import CentralAppConfig, create_app
from federation.central.registry import CentralDir, init_central
from trust.protocol import ClientId, MemberId

from tests.federation.central.central_support import PIN, GatewayPki, published_shared

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
TAX = MemberId("EE", "GOV", "70000001")
BANK = MemberId("EE", "COM", "10000001")
SS1 = TAX.server("ss1")
URL = "/api/v1/registration-requests"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> GatewayPki:
    value = GatewayPki(tmp_path_factory.mktemp("pki"), "EE", NOW)
    yield value
    value.close()


class Gateway:
    """SS1 as its operator holds it: the auth key registered with the authority, the owner's sign key."""

    def __init__(self, pki: GatewayPki) -> None:
        self.pki = pki
        self.auth_id, self.auth = pki.auth_cert(SS1)
        self.owner = self.member(TAX)

    def member(self, member: MemberId) -> MemberSigner:
        key_id, cert = self.pki.sign_cert(member)
        return MemberSigner(self.pki.token, key_id, cert, self.pki.ocsp(cert))

    def request(self, kind: str, *, client: ClientId | None = None, address: str | None = None,
                member: MemberSigner | None = None, auth: tuple[str, x509.Certificate] | None = None) -> bytes:
        auth_id, auth_cert = auth or (self.auth_id, self.auth)
        return build_management_request(
            kind, server=SS1, auth_cert=self.pki.der(auth_cert), auth_signer=self.pki.token, auth_key_id=auth_id,
            auth_ocsp=self.pki.ocsp(auth_cert), owner=self.owner, client=client, address=address, member=member,
            created_at=NOW)


@pytest.fixture
def central(tmp_path: Path, pki: GatewayPki) -> tuple[FlaskClient, CentralDir, dict[str, str], Gateway]:
    init_central(str(tmp_path / "ee"), instance="EE", url="http://127.0.0.1:4000", pin=PIN, now=NOW)
    home = CentralDir(tmp_path / "ee", clock=lambda: NOW)
    registry = home.registry()
    fields = pki.ca_fields()
    registry.add_ca(fields["name"], fields["cert"], ocsp=fields["ocsp"],  # type: ignore[arg-type]
                    certificate_profile=fields["certificate_profile"])  # type: ignore[arg-type]
    registry.add_member(TAX, "Tax Board")
    registry.add_subsystem(TAX.subsystem("tax"), "Tax data")
    registry.add_member(BANK, "Bank")
    gateway = Gateway(pki)
    registry.add_gateway(SS1, address="ss1.ee", auth_certs=[pki.der(gateway.auth)], clients=[TAX.subsystem("tax")])
    key = registry.create_api_key("officer", ["registration-officer"])
    app: Flask = create_app(CentralAppConfig(directory=tmp_path / "ee", clock=lambda: NOW))
    yield app.test_client(), home, {"X-API-Key": key}, gateway
    home.close()


def _submit(client: FlaskClient, document: bytes):  # type: ignore[no-untyped-def]
    return client.post(URL, data=document, headers={"Content-Type": "application/json"})


def _approve(client: FlaskClient, headers: dict[str, str], request_id: int):  # type: ignore[no-untyped-def]
    return client.post(f"{URL}/{request_id}/approve", headers=headers)


def _gateways(client: FlaskClient, headers: dict[str, str]) -> dict[str, dict[str, object]]:
    return {g["id"]: g for g in client.get("/api/v1/gateways", headers=headers).json}


def test_the_client_lifecycle_through_the_officers_queue(central, pki: GatewayPki) -> None:  # type: ignore[no-untyped-def]
    client, home, headers, gateway = central
    new = TAX.subsystem("customs")  # not yet in the registry: approval adds it, as X-Road's central server does
    submitted = _submit(client, gateway.request("clientReg", client=new))
    assert submitted.status_code == 202, submitted.json
    assert (submitted.json["type"], submitted.json["clients"]) == ("clientReg", [new.to_text()])
    again = _submit(client, gateway.request("clientReg", client=new))  # a second request while the first waits
    assert (again.status_code, again.json["code"]) == (409, "federation.registry.duplicate_request")
    listed = client.get(URL + "?status=submitted", headers=headers).json
    assert [(r["type"], r["server"]) for r in listed] == [("clientReg", SS1.to_text())]
    assert _approve(client, headers, submitted.json["id"]).json["status"] == "approved"
    assert _gateways(client, headers)[SS1.to_text()]["clients"] == [TAX.subsystem("tax").to_text(), new.to_text()]
    registered = _submit(client, gateway.request("clientReg", client=new))
    assert (registered.status_code, registered.json["code"]) == (409, "federation.registry.duplicate_client")

    # a subsystem of another member hosted on SS1: that member signs too
    bank_app = BANK.subsystem("app")
    unsigned = _submit(client, gateway.request("clientReg", client=bank_app))
    assert (unsigned.status_code, unsigned.json["code"]) == (400, "federation.registration.malformed")
    assert "memberSignature" in unsigned.json["message"]
    wrong = _submit(client, gateway.request("clientReg", client=bank_app, member=gateway.owner))
    assert (wrong.status_code, wrong.json["code"]) == (400, "federation.registration.wrong_owner")
    bank = gateway.member(BANK)
    bank_reg = _submit(client, gateway.request("clientReg", client=bank_app, member=bank))
    assert bank_reg.status_code == 202, bank_reg.json
    assert _approve(client, headers, bank_reg.json["id"]).status_code == 200

    deleted = _submit(client, gateway.request("clientDeletion", client=new))
    assert deleted.status_code == 202 and _approve(client, headers, deleted.json["id"]).status_code == 200
    gone = _submit(client, gateway.request("clientDeletion", client=new))
    assert (gone.status_code, gone.json["code"]) == (404, "federation.registry.unknown_client")

    moved = _submit(client, gateway.request("addressChange", address="ss1.tax.ee:5500"))
    declined = client.post(f"{URL}/{moved.json['id']}/decline", json={"comment": "typo"}, headers=headers)
    assert declined.json["status"] == "declined" and _gateways(client, headers)[SS1.to_text()]["address"] == "ss1.ee"
    moved = _submit(client, gateway.request("addressChange", address="ss1.tax.ee:5501"))
    assert _approve(client, headers, moved.json["id"]).status_code == 200

    owner = _submit(client, gateway.request("ownerChange", client=BANK, member=bank))
    assert owner.status_code == 202, owner.json
    assert _approve(client, headers, owner.json["id"]).json["type"] == "ownerChange"
    gateways = _gateways(client, headers)
    assert SS1.to_text() not in gateways
    moved_gw = gateways[BANK.server("ss1").to_text()]
    assert moved_gw["address"] == "ss1.tax.ee:5501" and moved_gw["clients"] == [TAX.subsystem("tax").to_text(),
                                                                                 bank_app.to_text()]
    groups = {g["code"]: g["members"] for g in client.get("/api/v1/global-groups", headers=headers).json}
    assert groups["security-server-owners"] == [BANK.to_text()]

    # the next configuration says so
    shared = published_shared(home, NOW + dt.timedelta(seconds=1))
    server = next(s for s in shared.security_servers if s.server_code == "ss1")
    assert server.owner == BANK and server.address == "ss1.tax.ee:5501"
    assert bank_app in set(shared.client_ids()) and new not in {c for s in shared.security_servers for c in s.clients}


def test_refusals_are_specific(central, pki: GatewayPki) -> None:  # type: ignore[no-untyped-def]
    client, _, headers, gateway = central
    other_auth = pki.auth_cert(SS1)  # valid, from the approved CA, but never registered to SS1
    foreign = _submit(client, gateway.request("addressChange", address="x.ee", auth=other_auth))
    assert (foreign.status_code, foreign.json["code"]) == (403, "federation.registry.unregistered_auth_cert")
    cases = [
        (gateway.request("clientReg", client=TAX), "names a subsystem"),
        (gateway.request("addressChange", address=None), "new address"),
        (gateway.request("ownerChange", client=TAX), "member other than the owner"),
        (gateway.request("clientDeletion", client=TAX.subsystem("tax"), member=gateway.owner), "no memberSignature"),
    ]
    for document, words in cases:
        refused = _submit(client, document)
        assert (refused.status_code, refused.json["code"]) == (400, "federation.registration.malformed"), words
        assert words in refused.json["message"]
    not_client = _submit(client, gateway.request("ownerChange", client=BANK, member=gateway.member(BANK)))
    assert (not_client.status_code, not_client.json["code"]) == (400, "federation.registry.not_a_client")
    # a tampered payload: the signatures no longer verify
    outer = json.loads(gateway.request("addressChange", address="a.ee"))
    payload = json.loads(base64.b64decode(outer["payload"]))
    payload["address"] = "evil.example"
    outer["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    tampered = _submit(client, json.dumps(outer).encode())
    assert (tampered.status_code, tampered.json["code"]) == (400, "federation.registration.bad_signature")
    assert client.get(URL, headers=headers).json == []  # nothing was stored
