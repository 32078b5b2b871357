"""Discovery over verified configuration: clients and the gateways serving them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import pytest

from federation.conftree import load_tree
from federation.directory import verify_directory
from federation.discovery import Discovery, UnknownInstance
from federation.model import parse_shared_parameters
from trust.protocol import GlobalGroupId, MemberId, SubsystemId

from tests.support.conformance import XROAD

GC = XROAD / "globalconf"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def discovery() -> Discovery:
    return Discovery.from_tree(load_tree(GC / "parsed/globalconf_good_v6"), AT)


def test_instances(discovery: Discovery) -> None:
    assert discovery.instances() == ["EE", "bar", "baz_v3", "foo_v2", "quux_v5", "qux_v4"]


def test_list_clients_of_own_instance(discovery: Discovery) -> None:
    clients = discovery.list_clients()
    assert [(c.client.to_text(), c.member_name, c.subsystem_name) for c in clients] == [
        ("EE/BUSINESS/producer", "Experimental producer", None),
        ("EE/BUSINESS/consumer", "Experimental consumer", None),
        ("EE/BUSINESS/foo", "Org with no address", None),
        ("EE/BUSINESS/foo/foosubsystem", "Org with no address", "FOO Subsystem"),
        ("EE/BUSINESS/foo/barsubsystemId", "Org with no address", None),
    ]
    assert [c.is_subsystem for c in clients] == [False, False, False, True, True]


def test_list_clients_of_a_federated_instance(discovery: Discovery) -> None:
    clients = discovery.list_clients("bar")
    assert clients and all(c.client.instance == "bar" for c in clients)
    with pytest.raises(UnknownInstance):
        discovery.list_clients("LV")


def test_gateways_serving_a_client(discovery: Discovery) -> None:
    foo = MemberId("EE", "BUSINESS", "foo")
    gateways = discovery.gateways_for(foo)
    # producer's server lists foo as client; foo's own two servers serve their owner
    assert sorted(g.server.server_code for g in gateways) == ["FooBarServerCode", "fooServerCode", "producerServerCode"]
    maint = next(g for g in gateways if g.server.server_code == "FooBarServerCode")
    assert maint.in_maintenance and maint.maintenance_message == "Test maintenance mode"
    assert maint.address == "https://foo.bar.baz"
    assert "FooBarServerCode" not in [g.server.server_code for g in discovery.gateways_for(foo, include_maintenance=False)]
    sub = discovery.gateways_for(SubsystemId("EE", "BUSINESS", "foo", "foosubsystem"))
    assert [g.server.server_code for g in sub] == ["producerServerCode"]
    assert base64.b64encode(sub[0].auth_cert_hashes[0]).decode() == "xcuWTrx4uFeP5mNBXIhYITy+gUM72CJfL63MsWXffXM="
    assert discovery.gateways_for(MemberId("EE", "BUSINESS", "nobody")) == []


def test_registration_and_groups(discovery: Discovery) -> None:
    assert discovery.is_registered(SubsystemId("EE", "BUSINESS", "foo", "foosubsystem"))
    assert not discovery.is_registered(SubsystemId("EE", "BUSINESS", "foo", "nosuch"))
    assert not discovery.is_registered(MemberId("LV", "BUSINESS", "foo"))
    assert discovery.member_name(MemberId("EE", "BUSINESS", "producer")) == "Experimental producer"
    members = discovery.global_group_members(GlobalGroupId("EE", "Test group"))
    assert MemberId("EE", "BUSINESS", "member2") in members
    assert GlobalGroupId("EE", "Test group") in discovery.groups_of(MemberId("EE", "BUSINESS", "member3"))


def test_from_verified_configuration_and_auth_cert_lookup() -> None:
    shared = parse_shared_parameters(next((GC / "served/V5").glob("*/shared-params.xml")).read_bytes())
    verified = verify_directory(
        (GC / "served/V5/internalconf").read_bytes(),
        shared.verification_certs(internal=True),
        at=AT,
        fetch_part=lambda loc: (GC / "served" / loc.lstrip("/")).read_bytes(),
    )
    discovery = Discovery.from_verified(verified)
    assert discovery.instances() == ["DEV"]
    assert {c.client.to_text() for c in discovery.list_clients()} >= {"DEV/COM/1234", "DEV/COM/1234/TestService"}
    server = verified.shared_parameters.security_servers[0]  # type: ignore[union-attr]
    # a certificate whose SHA-256 is listed maps to its gateway (fake DER with a matching hash is impossible,
    # so check the negative and the hash function instead)
    assert discovery.gateway_by_auth_cert("DEV", b"not this certificate") is None
    assert len(server.auth_cert_hashes[0]) == hashlib.sha256().digest_size
    assert discovery.gateway(server.owner.server(server.server_code)) is not None


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_gateway_found_by_its_auth_certificate(tmp_path: Path, algorithm: str) -> None:
    from dataclasses import replace

    from cryptography.hazmat.primitives import serialization

    from tests.federation.client.client_support import sample_shared
    from tests.federation.directory_support import make_tls_files

    _, _, cert = make_tls_files(tmp_path)
    der = cert.public_bytes(serialization.Encoding.DER)
    shared = sample_shared("EE")
    server = replace(shared.security_servers[0], auth_cert_hashes=(hashlib.new(algorithm, der).digest(),))
    shared = replace(shared, security_servers=(server,), version=2 if algorithm == "sha1" else 6)
    discovery = Discovery("EE", {"EE": shared})
    found = discovery.gateway_by_auth_cert("EE", der)
    assert found is not None and found.server == MemberId("EE", "GOV", "70000001").server("ss1")
    assert found.address == "ss1.ee.example"
