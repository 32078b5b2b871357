"""Access decisions: X-Road's order of checks, path patterns, groups, metaservices, IS authentication."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.serverconf import AccessChecker, check_is_connection, groups_from_mapping
from gateway.serverconf._access import path_matches
from trust.protocol import XRoadFault
from gateway.serverconf import InvalidInput, Operation, ServerConf
from gateway.db import open_engine
from trust.protocol import GlobalGroupId, LocalGroupId, MemberId, SecurityServerId, SubsystemId

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
OWNER = MemberId("EE", "GOV", "70000001")
PROVIDER = OWNER.subsystem("tax")
CONSUMER = SubsystemId("EE", "COM", "20000002", "app")
OTHER = SubsystemId("EE", "COM", "20000003", "crm")
GROUP = GlobalGroupId("EE", "licensed-banks")

# (pattern, path, expected): X-Road's PathGlob semantics plus OpenAPI {param}
PATHS = [
    ("**", "", True),
    ("**", "/a/b/c", True),
    ("/*/", "/a/", True),
    ("/*/", "/a/b/", False),
    ("**/bar/**", "a/b/c/bar/e/f", True),
    ("**/bar/**", "a/b/c/foo/e/f", False),
    ("/simple", "/simple", True),
    ("/simple", "/simple/more", False),
    ("/pets/*", "/pets/12", True),
    ("/pets/*", "/pets/12/toys", False),
    ("/pets/**", "/pets/12/toys", True),
    ("/pets/{petId}", "/pets/12", True),
    ("/pets/{petId}", "/pets/", False),
    ("/pets/{petId}/toys", "/pets/12/toys", True),
    ("/pets/{petId}", "/pets/12?expand=1", True),
    ("/a.b", "/aXb", False),
    ("\\*", "*", True),
    ("\\*", "x", False),
]


@pytest.mark.parametrize("pattern, path, expected", PATHS, ids=[f"{p}|{q}" for p, q, _ in PATHS])
def test_path_patterns(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected


@pytest.fixture
def conf(tmp_path: Path) -> ServerConf:
    c = ServerConf(open_engine(tmp_path / "gw.db"), clock=lambda: T0, refresh_interval=0)
    c.set_identity(SecurityServerId("EE", "GOV", "70000001", "ss1"))
    c.add_client(PROVIDER, state="REGISTERED")
    c.add_client(CONSUMER, state="REGISTERED")
    c.add_wsdl(PROVIDER, "http://b/s.wsdl", operations=[Operation("getPerson", "v1", "http://b/"),
                                                       Operation("getPerson", "v2", "http://b/"),
                                                       Operation("getTax", None, "http://b/")], enabled=True)
    c.add_rest(PROVIDER, "http://b/api", "persons", enabled=True, endpoints=[("GET", "/persons/{id}"), ("*", "/public/**")])
    return c


def test_soap_right_ignores_version(conf: ServerConf) -> None:
    checker = AccessChecker(conf.snapshot)
    assert checker.decide(CONSUMER, PROVIDER.service("getPerson", "v1")).leaf == "access_denied"
    conf.grant(PROVIDER, "getPerson", CONSUMER)
    for version in ("v1", "v2"):
        decision = checker.decide(CONSUMER, PROVIDER.service("getPerson", version))
        assert decision.allowed and decision.service is not None and decision.service.id.service_version == version
    assert checker.decide(CONSUMER, PROVIDER.service("getTax")).leaf == "access_denied"
    assert checker.decide(OTHER, PROVIDER.service("getPerson", "v1")).leaf == "access_denied"


def test_order_of_checks(conf: ServerConf) -> None:
    checker = AccessChecker(conf.snapshot)
    unregistered = OWNER.subsystem("unknown")
    assert checker.decide(CONSUMER, unregistered.service("x")).leaf == "unknown_member"
    conf.add_client(OWNER.subsystem("saved"))
    assert checker.decide(CONSUMER, OWNER.subsystem("saved").service("x")).leaf == "unknown_member"
    assert checker.decide(CONSUMER, PROVIDER.service("getPerson", "v9")).leaf == "unknown_service"
    assert checker.decide(CONSUMER, PROVIDER.service("persons"), protocol="SOAP").leaf == "service_type"
    assert checker.decide(CONSUMER, PROVIDER.service("getTax"), protocol="REST", method="GET", path="/").leaf == "service_type"
    # denied comes before disabled: a caller without rights learns nothing about the service's state
    conf.set_service_enabled(PROVIDER.service("getTax"), False, "back at 14:00")
    assert checker.decide(CONSUMER, PROVIDER.service("getTax")).leaf == "access_denied"
    conf.grant(PROVIDER, "getTax", CONSUMER)
    decision = checker.decide(CONSUMER, PROVIDER.service("getTax"))
    assert (decision.allowed, decision.leaf, decision.message) == (False, "service_disabled", "back at 14:00")
    fault = decision.fault("server.serverproxy")
    assert isinstance(fault, XRoadFault) and fault.fault_code == "server.serverproxy.service_disabled"


def test_rest_endpoints(conf: ServerConf) -> None:
    checker = AccessChecker(conf.snapshot)
    service = PROVIDER.service("persons")
    conf.grant(PROVIDER, "persons", CONSUMER, method="GET", path="/persons/{id}")
    assert checker.decide(CONSUMER, service, protocol="REST", method="GET", path="/persons/7").allowed
    assert checker.decide(CONSUMER, service, protocol="REST", method="get", path="/persons/7").allowed
    assert checker.decide(CONSUMER, service, protocol="REST", method="DELETE", path="/persons/7").leaf == "access_denied"
    assert checker.decide(CONSUMER, service, protocol="REST", method="GET", path="/persons").leaf == "access_denied"
    conf.grant(PROVIDER, "persons", CONSUMER, method="*", path="/public/**")
    assert checker.decide(CONSUMER, service, protocol="REST", method="POST", path="/public/a/b").allowed
    assert [(e.method, e.path) for e in checker.allowed_endpoints(PROVIDER, CONSUMER, "persons")] == [
        ("GET", "/persons/{id}"), ("*", "/public/**")]
    conf.grant(PROVIDER, "persons", OTHER)  # base endpoint: the whole service
    assert checker.decide(OTHER, service, protocol="REST", method="PATCH", path="/anything/at/all").allowed
    assert len(checker.allowed_endpoints(PROVIDER, OTHER, "persons")) == 3


def test_groups(conf: ServerConf) -> None:
    members = {GROUP: [OTHER]}
    checker = AccessChecker(conf.snapshot, groups_from_mapping(members))
    conf.grant(PROVIDER, "getTax", GROUP)
    assert checker.decide(OTHER, PROVIDER.service("getTax")).allowed
    assert not checker.decide(CONSUMER, PROVIDER.service("getTax")).allowed
    conf.add_local_group(PROVIDER, "clerks")
    conf.grant(PROVIDER, "getPerson", LocalGroupId("clerks"))
    assert not checker.decide(CONSUMER, PROVIDER.service("getPerson", "v1")).allowed
    conf.add_group_members(PROVIDER, "clerks", [CONSUMER])
    assert checker.decide(CONSUMER, PROVIDER.service("getPerson", "v1")).allowed
    # a right for a member does not cover its subsystems (exact match, as X-Road)
    conf.grant(PROVIDER, "getTax", CONSUMER.member)
    assert not checker.decide(CONSUMER, PROVIDER.service("getTax")).allowed


def test_metaservices(conf: ServerConf) -> None:
    checker = AccessChecker(conf.snapshot)
    for code in ("listMethods", "allowedMethods", "getWsdl"):
        decision = checker.decide(OTHER, PROVIDER.service(code))
        assert decision.allowed and decision.metaservice
    for code in ("listMethods", "allowedMethods", "getOpenAPI"):
        assert checker.decide(OTHER, PROVIDER.service(code), protocol="REST", method="GET", path="/").allowed
    assert checker.decide(OTHER, PROVIDER.service("getOpenAPI")).leaf == "unknown_service"  # SOAP has no getOpenAPI
    conf.grant(PROVIDER, "getPerson", CONSUMER)
    listed = [(s.id.service_code, s.id.service_version) for s in checker.list_services(PROVIDER)]
    assert listed == [("getPerson", "v1"), ("getPerson", "v2"), ("getTax", None), ("persons", None)]
    assert [s.id.service_code for s in checker.list_services(PROVIDER, protocol="REST")] == ["persons"]
    assert [s.id.service_version for s in checker.allowed_services(PROVIDER, CONSUMER)] == ["v1", "v2"]
    assert checker.allowed_services(PROVIDER, OTHER) == []


def test_operational_data_only_for_the_owner(conf: ServerConf) -> None:
    conf.add_client(OWNER, state="REGISTERED")
    checker = AccessChecker(conf.snapshot)
    service = OWNER.service("getSecurityServerOperationalData")
    assert checker.decide(OWNER, service).allowed
    assert checker.decide(PROVIDER, service).allowed  # a subsystem of the owner
    assert checker.decide(CONSUMER, service).leaf == "access_denied"


def test_is_connection_modes(conf: ServerConf) -> None:
    conf.add_client(OTHER, is_auth="http", allowed_addresses=["127.0.0.0/8"])
    snap = conf.snapshot()
    assert check_is_connection(snap.client(OTHER), tls=False, peer_address="127.0.0.1").allowed
    assert check_is_connection(snap.client(OTHER), tls=False, peer_address="192.0.2.1").leaf == "ssl_authentication_failed"
    assert check_is_connection(None, tls=True).leaf == "unknown_member"
    conf.set_client_auth(OTHER, "https")
    snap = conf.snapshot()
    assert check_is_connection(snap.client(OTHER), tls=False).leaf == "ssl_authentication_failed"
    assert check_is_connection(snap.client(OTHER), tls=True).allowed
    conf.set_client_auth(OTHER, "https-cert")
    snap = conf.snapshot()
    assert check_is_connection(snap.client(OTHER), tls=True, cert_sha256=None).leaf == "ssl_authentication_failed"
    assert check_is_connection(snap.client(OTHER), tls=True, cert_sha256="ab" * 32).leaf == "ssl_authentication_failed"


TRAVERSALS = ["/public/../secret", "/public/%2e%2e/secret", "/public/%2E%2e/secret", "/public/.%2e/secret",
              "/public/..%2fsecret", "/public/..%2Fsecret", "/public/..%5csecret", "/public/..\\secret",
              "/public/./x", "/public/..;x/secret", "/public/%252e%252e/secret", "/public/a%00b", "/public/a\x00b"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_a_path_right_cannot_be_side_stepped(conf: ServerConf, path: str) -> None:
    """A right for ``/public/**`` never covers a path a backend reads as ``/secret`` (issue 15):
    such a path matches no pattern, and the decision refuses it before any right is looked at."""
    assert not path_matches("/public/**", path)
    assert not path_matches("**", path)
    checker = AccessChecker(conf.snapshot)
    conf.grant(PROVIDER, "persons", CONSUMER, method="*", path="/public/**")
    conf.grant(PROVIDER, "persons", OTHER)  # the whole service: still no dot segments
    service = PROVIDER.service("persons")
    for client in (CONSUMER, OTHER):
        decision = checker.decide(client, service, protocol="REST", method="GET", path=path)
        assert (decision.allowed, decision.leaf) == (False, "invalid_request"), path
    assert checker.decide(CONSUMER, service, protocol="REST", method="GET", path="/public/file.txt").allowed


@pytest.mark.parametrize("path", ["/public/../secret", "/a/./b", "/public/%2e%2e/**", "/a%2Fb", "/x%00"])
def test_endpoint_patterns_with_dot_segments_are_refused(conf: ServerConf, path: str) -> None:
    with pytest.raises(InvalidInput, match="must not contain"):
        conf.add_endpoint(PROVIDER, "persons", "GET", path)
    with pytest.raises(InvalidInput, match="must not contain"):
        conf.grant(PROVIDER, "persons", CONSUMER, method="GET", path=path)


def test_the_other_protocol_is_service_type_both_ways(conf: ServerConf) -> None:
    """A REST call names no version: a SOAP service registered with one is found by its code,
    and the answer says it exists with the other type (issue 14), as the SOAP->REST direction did."""
    checker = AccessChecker(conf.snapshot)
    rest_to_soap = checker.decide(CONSUMER, PROVIDER.service("getPerson"), protocol="REST", method="GET", path="/")
    assert rest_to_soap.leaf == "service_type" and "is a SOAP service" in rest_to_soap.message
    soap_to_rest = checker.decide(CONSUMER, PROVIDER.service("persons", "v1"), protocol="SOAP")
    assert soap_to_rest.leaf == "service_type" and "is a REST service" in soap_to_rest.message
    assert checker.decide(CONSUMER, PROVIDER.service("nothing"), protocol="REST", method="GET",
                          path="/").leaf == "unknown_service"
