"""Provider WSDLs: X-Road's WSDL vectors, endpoint rewriting, self-contained serving with zeep."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Iterator

import pytest
from lxml import etree

from trust.protocol import _wsdl as wsdl
from trust.protocol import WsdlError, parse_wsdl
from trust.protocol._wsdl import ENDPOINT_PLACEHOLDER

from tests.support.static_http import static_files

VALID = {
    "xroad6.wsdl": [("getRandom", "v1", "Random number generator")],
    "valid.wsdl": [("xroadGetRandom", "v1", None), ("xroadSmallAttachment", "v1", None), ("xroadBigAttachment", "v1", None)],
    "valid-getrandom.wsdl": [("xroadGetRandom", "v1", None)],
    "valid-smallattachment.wsdl": [("xroadSmallAttachment", "v1", None)],
    "valid-additional-services.wsdl": [("getRandom", None, None), ("helloService", None, None)],
    "testservice.wsdl": [("xroadGetRandom", "v1", "xroadGetRandom"), ("bodyMassIndex", "v1", "bodyMassIndex")],
    "warning.wsdl": [("xroadGetRandom", "v1", "xroadGetRandom"), ("bodyMassIndex", "v1", "bodyMassIndex")],
    "managementservices.wsdl": None,
    "monitoring.wsdl": [("getSecurityServerMetrics", None, "getSecurityServerMetrics")],
    "op-monitoring.wsdl": None,
    "system-testservice1.wsdl": [("testOp1", None, None), ("testOpA", None, None)],
    "system-testservice2.wsdl": [("testOp2", None, None), ("testOpX", None, None)],
    "system-testservice3.wsdl": [("testOpZ", None, None), ("testOpBC", None, None)],
}
INVALID = {
    "invalid.wsdl": "not well-formed",
    "xxe.wsdl": "document type declaration",
    "error.wsdl": "invalid name ''",
    "invalid-servicecode-all.wsdl": "service code 'xroadGetRandom:aa'",
    "invalid-servicecode-colon.wsdl": "service code 'xroadGetRandom:aa'",
    "invalid-serviceurl.wsdl": "sftp://",
    "invalid-serviceversion-percent.wsdl": "service version 'v1%234'",
}


@pytest.mark.conformance(area="wsdl", vector="services/wsdl/*.wsdl")
def test_every_vector_is_classified(xroad: Path) -> None:
    names = {p.name for p in (xroad / "services" / "wsdl").glob("*.wsdl")}
    assert names == set(VALID) | set(INVALID)


@pytest.mark.parametrize("name", sorted(VALID), ids=sorted(VALID))
@pytest.mark.conformance(area="wsdl", vector="services/wsdl/{name}", expected="parsed, with its operations")
def test_valid_wsdl(name: str, xroad: Path) -> None:
    description = parse_wsdl((xroad / "services" / "wsdl" / name).read_bytes())
    expected = VALID[name]
    if expected is not None:
        got = [(op.name, op.version, op.title if expected_title else None) for op, (_, _, expected_title) in zip(description.operations, expected)]
        assert got == expected
    assert description.operations
    assert all(url.startswith("http") for url in description.endpoints)


@pytest.mark.parametrize("name", sorted(INVALID), ids=sorted(INVALID))
@pytest.mark.conformance(area="wsdl", vector="services/wsdl/{name}",
                         expected=lambda p: f"refused: {INVALID[p['name']]}")
def test_invalid_wsdl_refused(name: str, xroad: Path) -> None:
    with pytest.raises(WsdlError) as info:
        parse_wsdl((xroad / "services" / "wsdl" / name).read_bytes())
    assert INVALID[name] in str(info.value)
    assert str(info.value).startswith("invalid WSDL")


@pytest.mark.conformance(area="wsdl", vector="services/wsdl/xxe.wsdl")
def test_xxe_is_never_resolved(xroad: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (xroad / "services" / "wsdl" / "xxe.wsdl").read_bytes().replace(
        b"file:src/test/resources/wsdl/invalid.wsdl", secret.as_uri().encode()
    )
    for function in (parse_wsdl, wsdl.rewrite_endpoint, lambda d: wsdl.make_self_contained(d, "http://x")):
        with pytest.raises(WsdlError) as info:
            function(data)
        assert "TOP-SECRET" not in str(info.value)


def test_documentation_and_version(xroad: Path) -> None:
    op = parse_wsdl((xroad / "services" / "wsdl" / "xroad6.wsdl").read_bytes()).operation("getRandom")
    assert op is not None
    assert op.notes == "Operation is generating random numbers."
    assert op.tech_notes is not None and op.tech_notes.startswith("Operation internally uses /dev/urandom")


def test_rewrite_endpoint(xroad: Path) -> None:
    data = (xroad / "services" / "wsdl" / "valid.wsdl").read_bytes()
    rewritten = wsdl.rewrite_endpoint(data)
    assert parse_wsdl(rewritten).endpoints == (ENDPOINT_PLACEHOLDER,) * len(parse_wsdl(data).endpoints)
    assert [op.name for op in parse_wsdl(rewritten).operations] == [op.name for op in parse_wsdl(data).operations]


def test_self_contained_rewrites_known_imports(xroad: Path) -> None:
    data = (xroad / "services" / "wsdl" / "xroad6.wsdl").read_bytes()
    out = wsdl.make_self_contained(data, "https://gw.example:8443/")
    root = etree.fromstring(out)
    locations = [e.get("schemaLocation") for e in root.iter("{http://www.w3.org/2001/XMLSchema}import")]
    assert locations == ["https://gw.example:8443/schemas/xroad.xsd"]


def test_own_schemas_validate_a_soap_header(xroad: Path) -> None:
    """sild's xroad.xsd describes the real header fields (elements and identifier types)."""
    from trust.infra._safexml import load_schema

    schema_dir = Path(wsdl.__file__).parent / "schemas"
    wrapper = etree.XMLSchema(
        etree.fromstring(
            f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" elementFormDefault="qualified">
            <xs:import namespace="http://x-road.eu/xsd/xroad.xsd" schemaLocation="{(schema_dir / 'xroad.xsd').as_uri()}"/>
            <xs:import namespace="http://x-road.eu/xsd/representation.xsd" schemaLocation="{(schema_dir / 'representation.xsd').as_uri()}"/>
            <xs:element name="h"><xs:complexType><xs:sequence><xs:any processContents="strict" maxOccurs="unbounded"/>
            </xs:sequence></xs:complexType></xs:element></xs:schema>""".encode()
        )
    )
    assert load_schema(schema_dir / "xroad.xsd") is not None
    query = etree.parse(str(xroad / "soap" / "queries" / "simple-representedparty.query")).getroot()
    header = query[0]
    wrapped = etree.Element("{urn:t}h")
    for child in header:
        wrapped.append(child)
    assert wrapper.validate(wrapped), wrapper.error_log
    bad = etree.Element("{urn:t}h")
    client = etree.SubElement(bad, "{http://x-road.eu/xsd/xroad.xsd}client")  # no objectType, no fields
    assert client is not None and not wrapper.validate(bad)


# -- zeep loads the rewritten WSDL with the internet unreachable -----------------------------


@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any connection to a non-loopback address fails (and is recorded)."""
    attempts: list[object] = []
    real_getaddrinfo = socket.getaddrinfo
    loopback = ("127.0.0.1", "localhost", "::1")

    def guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in loopback:
            attempts.append(host)
            raise socket.gaierror(f"network is unreachable in this test: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    real_connect = socket.socket.connect

    def guarded_connect(self, address):  # type: ignore[no-untyped-def]
        if isinstance(address, tuple) and address[0] not in loopback:
            attempts.append(address)
            raise OSError(f"network is unreachable in this test: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    return attempts


@pytest.fixture
def wsdl_server(xroad: Path) -> Iterator[str]:
    with static_files() as (base, files):
        files["/service.wsdl"] = wsdl.prepare_for_serving((xroad / "services" / "wsdl" / "xroad6.wsdl").read_bytes(), base)
        for name in wsdl.SCHEMA_NAMES:
            files[f"/schemas/{name}"] = wsdl.schema_file(name)
        yield base


@pytest.mark.conformance(area="wsdl", peer="zeep")
def test_zeep_loads_rewritten_wsdl_offline(wsdl_server: str, no_internet: list[object]) -> None:
    zeep = pytest.importorskip("zeep")
    client = zeep.Client(f"{wsdl_server}/service.wsdl")
    operations = {
        name
        for service in client.wsdl.services.values()
        for port in service.ports.values()
        for name in port.binding._operations
    }
    assert operations == {"getRandom"}
    service = next(iter(client.wsdl.services.values()))
    port = next(iter(service.ports.values()))
    assert port.binding_options["address"] == ENDPOINT_PLACEHOLDER
    # the X-Road header element types come from sild's own schemas
    client_type = client.get_element("{http://x-road.eu/xsd/xroad.xsd}client")
    assert "memberCode" in [name for name, _ in client_type.type.elements]
    assert no_internet == []


def test_zeep_fails_on_the_original_offline(xroad: Path, tmp_path: Path, no_internet: list[object]) -> None:
    """The reason for the rewrite: the original imports need the internet."""
    zeep = pytest.importorskip("zeep")
    original = tmp_path / "xroad6.wsdl"
    original.write_bytes((xroad / "services" / "wsdl" / "xroad6.wsdl").read_bytes())
    with pytest.raises(Exception):
        zeep.Client(str(original))
    assert no_internet  # it tried to reach x-road.eu


@pytest.mark.conformance(area="wsdl", peer="zeep")
def test_zeep_request_from_served_wsdl_is_a_valid_xroad_message(wsdl_server: str, no_internet: list[object]) -> None:
    """An independent SOAP stack, given only what sild serves, writes a message sild reads."""
    zeep = pytest.importorskip("zeep")
    from trust.protocol import SoapMessage, parse_soap
    from trust.protocol import MemberId, ServiceId, SubsystemId

    client = zeep.Client(f"{wsdl_server}/service.wsdl")
    header = {
        "client": {"objectType": "SUBSYSTEM", "xRoadInstance": "EE", "memberClass": "GOV", "memberCode": "1", "subsystemCode": "c"},
        "service": {"objectType": "SERVICE", "xRoadInstance": "EE", "memberClass": "COM", "memberCode": "2",
                    "serviceCode": "getRandom", "serviceVersion": "v1"},
        "id": "zeep-1",
        "userId": "EE123",
        "issue": "",
        "protocolVersion": "4.0",
    }
    envelope = client.create_message(client.service, "getRandom", amount=3, _soapheaders=header)
    data = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    message = parse_soap(data, "text/xml; charset=UTF-8")
    assert isinstance(message, SoapMessage)
    assert message.header.client == SubsystemId("EE", "GOV", "1", "c")
    assert message.header.service == ServiceId("EE", "COM", "2", None, "getRandom", "v1")
    assert (message.header.query_id, message.header.user_id) == ("zeep-1", "EE123")
    assert message.body_name.localname == "getRandom"
    assert MemberId("EE", "GOV", "1") == message.header.client.member
    assert no_internet == []


def test_imports_of_xroad_namespaces_never_keep_a_providers_own_location():
    """An adapter or backend serving its own copy of xroad.xsd must not leak its address."""
    from trust.protocol import make_self_contained

    wsdl = b"""<?xml version="1.0"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    targetNamespace="http://example.org/p">
  <wsdl:types><xs:schema targetNamespace="http://example.org/p">
    <xs:import namespace="http://x-road.eu/xsd/xroad.xsd" schemaLocation="http://10.1.2.3:8080/xsd/xroad.xsd"/>
    <xs:import namespace="http://x-road.eu/xsd/identifiers" schemaLocation="identifiers.xsd"/>
    <xs:import namespace="http://example.org/other" schemaLocation="http://10.1.2.3:8080/other.xsd"/>
  </xs:schema></wsdl:types>
</wsdl:definitions>"""
    out = make_self_contained(wsdl, "http://gw.example:8080")
    assert b"http://gw.example:8080/schemas/xroad.xsd" in out
    assert b"http://gw.example:8080/schemas/identifiers.xsd" in out
    assert b"10.1.2.3:8080/xsd/xroad.xsd" not in out
    # a provider's own schema for its own namespace is not ours to replace
    assert b"http://10.1.2.3:8080/other.xsd" in out


def test_schema_for_points_imports_at_the_server_and_keeps_import_free_files_as_shipped() -> None:
    served = wsdl.schema_for("xroad.xsd", "http://adapter:8080/", folder="xsd")
    root = etree.fromstring(served)
    imports = [el.get("schemaLocation") for el in root.iter("{http://www.w3.org/2001/XMLSchema}import")]
    assert imports == ["http://adapter:8080/xsd/identifiers.xsd", "http://adapter:8080/xsd/xml.xsd"]
    shipped = etree.fromstring(wsdl.schema_file("xroad.xsd"))
    for element in shipped.iter("{http://www.w3.org/2001/XMLSchema}import"):
        element.set("schemaLocation", "http://adapter:8080/xsd/" + element.get("schemaLocation", ""))
    assert etree.tostring(root) == etree.tostring(shipped)  # nothing but the locations changed
    assert wsdl.schema_for("identifiers.xsd", "http://adapter:8080") == wsdl.schema_file("identifiers.xsd")
    assert b"http://gw/schemas/xml.xsd" in wsdl.schema_for("xroad.xsd", "http://gw")
