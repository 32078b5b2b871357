"""SOAP 4.0 message layer beyond X-Road's vectors: charsets, streaming, requestHash insertion,
extension headers, building messages."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from lxml import etree

from trust.protocol import _faults as faults
from trust.protocol import XRoadFault
from trust.protocol import XROAD_NS, SoapMessage, parse_soap
from trust.protocol._soap import SHA512_URI
from trust.protocol import (
    build_request, build_response, check_consistency, insert_request_hash, multipart_related,
    verify_request_hash,
)
from trust.protocol._soap_build import request_hash
from trust.protocol.mime import chunked
from trust.protocol import MemberId, RepresentedParty, SecurityServerId, ServiceId, SubsystemId

CLIENT = SubsystemId("EE", "GOV", "70000001", "tax")
SERVICE = ServiceId("EE", "COM", "12345", "reg", "getPerson", "v1")


def _request(**kw: object) -> bytes:
    body = etree.Element("{urn:x}getPerson")
    etree.SubElement(body, "{urn:x}code").text = "õun"
    return build_request(client=CLIENT, service=SERVICE, query_id="q-1", body=body, **kw)  # type: ignore[arg-type]


def _parse(data: bytes, ctype: str = "text/xml; charset=UTF-8", role: str = "request") -> SoapMessage:
    message = parse_soap(data, ctype, role=role)  # type: ignore[arg-type]
    assert isinstance(message, SoapMessage)
    return message


def test_build_and_parse_request_with_extensions() -> None:
    server = SecurityServerId("EE", "COM", "12345", "ss1")
    data = _request(user_id="EE37702211234", issue="x", security_server=server, represented_party=RepresentedParty("P1", "COM"))
    message = _parse(data)
    h = message.header
    assert (h.client, h.service, h.query_id, h.user_id, h.issue) == (CLIENT, SERVICE, "q-1", "EE37702211234", "x")
    assert h.security_server == server
    assert h.represented_party == RepresentedParty("P1", "COM")
    assert h.protocol_version == "4.0"
    assert message.soap_bytes == data


def test_security_token_passes_unchecked() -> None:
    data = _request().replace(
        b"<xroad:protocolVersion>",
        b'<st:securityToken xmlns:st="http://x-road.eu/xsd/security-token.xsd" '
        b'tokenType="urn:ietf:params:oauth:token-type:jwt">eyJ.x.y</st:securityToken><xroad:protocolVersion>',
    )
    token = _parse(data).header.security_token
    assert token is not None and (token.token, token.token_type) == ("eyJ.x.y", "urn:ietf:params:oauth:token-type:jwt")


def test_iso_8859_1_message_hash_covers_original_bytes() -> None:
    text = _request().decode("utf-8").replace("encoding='UTF-8'", "encoding='ISO-8859-1'")
    data = text.encode("iso-8859-1")
    assert "õ".encode("iso-8859-1") in data
    message = _parse(data, "text/xml; charset=ISO-8859-1")
    assert message.charset == "iso8859-1" and message.soap_bytes == data
    assert message.envelope.findtext(".//{urn:x}code") == "õun"
    # the provider gateway inserts requestHash into an ISO-8859-1 answer byte-wise
    answer = _parse(data, "text/xml; charset=ISO-8859-1", role="response")
    hashed = insert_request_hash(answer, data)
    final = _parse(hashed, "text/xml; charset=ISO-8859-1", role="response")
    verify_request_hash(final, data)
    assert final.envelope.findtext(".//{urn:x}code") == "õun"


def test_non_ascii_compatible_charset_refused() -> None:
    data = _request().decode().replace("UTF-8", "UTF-16").encode("utf-16")
    with pytest.raises(XRoadFault) as info:
        parse_soap(data, "text/xml; charset=UTF-16")
    assert info.value.fault_code == faults.INVALID_CONTENT_TYPE
    with pytest.raises(XRoadFault):
        parse_soap(_request(), "text/xml; charset=no-such-charset")


@pytest.mark.parametrize(
    "id_xml,expected_prefix",
    [
        (b"<xroad:id>q-1</xroad:id>", b"<xroad:requestHash "),
        (b'<x:id xmlns:x="http://x-road.eu/xsd/xroad.xsd">q-1</x:id>', b'<x:requestHash xmlns:x="http://x-road.eu/xsd/xroad.xsd" '),
        (b'<id xmlns="http://x-road.eu/xsd/xroad.xsd">q-1</id>', b'<requestHash xmlns="http://x-road.eu/xsd/xroad.xsd" '),
    ],
    ids=["prefix", "prefix-declared-on-id", "default-namespace"],
)
def test_request_hash_inserted_after_id(id_xml: bytes, expected_prefix: bytes) -> None:
    request = _request()
    answer = request.replace(b"<xroad:id>q-1</xroad:id>", id_xml)
    provided = _parse(answer, role="response")
    hashed = insert_request_hash(provided, request)
    position = hashed.index(id_xml) + len(id_xml)
    assert hashed[position:].startswith(expected_prefix)
    assert hashed.replace(hashed[position : hashed.index(b"requestHash>", position) + len(b"requestHash>")], b"") == answer
    final = _parse(hashed, role="response")
    assert final.header.request_hash is not None
    assert final.header.request_hash.algorithm_id == SHA512_URI
    verify_request_hash(final, request)


def test_request_hash_mismatch_and_absence() -> None:
    request = _request()
    provided = _parse(request, role="response")
    with pytest.raises(XRoadFault, match="no requestHash"):
        verify_request_hash(provided, request)
    final = _parse(insert_request_hash(provided, request + b" "), role="response")
    with pytest.raises(XRoadFault) as info:
        verify_request_hash(final, request)
    assert info.value.fault_code == faults.INCONSISTENT_RESPONSE
    assert request_hash(request) != request_hash(request + b" ")
    assert len(request_hash(request)) == 88


def test_build_response_echoes_header() -> None:
    request = _parse(_request(user_id="u", issue="i", represented_party=RepresentedParty("P")))
    response = _parse(build_response(request, etree.Element("{urn:x}getPersonResponse")), role="response")
    check_consistency(request, response)
    verify_request_hash(response, request.soap_bytes)


@pytest.mark.parametrize("field,old,new", [
    ("userId", b"<xroad:userId>u</xroad:userId>", b"<xroad:userId>v</xroad:userId>"),
    ("issue", b"<xroad:issue>i</xroad:issue>", b"<xroad:issue>j</xroad:issue>"),
    ("id", b"<xroad:id>q-1</xroad:id>", b"<xroad:id>q-2</xroad:id>"),
    ("client", b"<id:subsystemCode>tax</id:subsystemCode>", b"<id:subsystemCode>tux</id:subsystemCode>"),
])
def test_inconsistent_response(field: str, old: bytes, new: bytes) -> None:
    data = _request(user_id="u", issue="i")
    assert old in data
    request = _parse(data)
    response = _parse(data.replace(old, new, 1), role="response")
    with pytest.raises(XRoadFault) as info:
        check_consistency(request, response)
    assert info.value.fault_code == "inconsistent_response"


def test_swa_round_trip_in_small_chunks_keeps_headers_and_bytes() -> None:
    soap = _request()
    payload = bytes(range(256)) * 40 + b"\r\n--notboundary\r\n"
    ctype, body = multipart_related(
        soap, [((("Content-Type", "application/octet-stream"), ("Content-ID", "<a1@x>"), ("X-Custom", "kept")), payload)], boundary="b0undary"
    )
    for size in (1, 7, 4096):
        message = parse_soap(chunked(body, size), ctype)
        assert isinstance(message, SoapMessage)
        assert message.soap_bytes == soap
        [attachment] = message.attachments
        assert attachment.read() == payload
        assert attachment.body.sha512 == hashlib.sha512(payload).digest()
        assert attachment.headers.get("x-custom") == "kept" and attachment.content_id == "a1@x"


def test_large_attachment_is_spooled_and_bounded() -> None:
    soap = _request()
    big = b"x" * (3 * 1024 * 1024)
    ctype, body = multipart_related(soap, [((("Content-Type", "application/octet-stream"),), big)], boundary="bb")
    message = parse_soap(chunked(body, 65536), ctype)
    assert isinstance(message, SoapMessage)
    attachment = message.attachments[0]
    assert attachment.body.size == len(big)
    assert not isinstance(attachment.body._file, io.BytesIO)  # beyond the in-memory threshold: on disk
    assert attachment.body.read() == big and attachment.body.sha512 == hashlib.sha512(big).digest()
    small = parse_soap(chunked(multipart_related(soap, [((("Content-Type", "text/plain"),), b"tiny")], boundary="bb")[1],
                               65536), ctype)
    assert isinstance(small, SoapMessage) and isinstance(small.attachments[0].body._file, io.BytesIO)
    with pytest.raises(XRoadFault):
        parse_soap(chunked(body, 65536), ctype, max_attachment_bytes=1024 * 1024, max_soap_bytes=1024 * 1024)


def test_soap_part_size_bounded() -> None:
    with pytest.raises(XRoadFault) as info:
        parse_soap(chunked(_request(), 100), "text/xml", max_soap_bytes=200)
    assert info.value.fault_code == faults.INVALID_MESSAGE


@pytest.mark.parametrize(
    "data,code",
    [
        (b"<a/>", "invalid_soap"),
        (b"not xml", "invalid_soap"),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "invalid_soap"),
    ],
)
def test_bad_documents(data: bytes, code: str) -> None:
    with pytest.raises(XRoadFault) as info:
        parse_soap(data, "text/xml")
    assert info.value.fault_code == code
    assert "root:" not in info.value.message


def test_member_client_and_version_text() -> None:
    data = build_request(client=MemberId("EE", "GOV", "1"), service=SERVICE, query_id="q", body=etree.Element("{urn:x}getPerson"))
    message = _parse(data)
    assert message.header.client == MemberId("EE", "GOV", "1")
    assert message.header.protocol_version == "4.0"
    assert message.envelope.find(f".//{{{XROAD_NS}}}protocolVersion") is not None


@pytest.mark.parametrize("version", ["4.0junk", "4.1", "4.", "40", "4.0.0"])
def test_only_protocol_version_4_0_is_accepted(version: str) -> None:
    """X-Road checks the prefix ``4.`` only; sild accepts the one version there is (issue 15)."""
    data = build_request(client=MemberId("EE", "GOV", "1"), service=SERVICE, query_id="q",
                         body=etree.Element("{urn:x}getPerson"), protocol_version=version)
    with pytest.raises(XRoadFault) as info:
        parse_soap(data, "text/xml")
    assert info.value.fault_code == "invalid_protocol_version"


@pytest.mark.parametrize("field", ["query_id", "user_id", "issue"])
def test_long_header_fields_are_refused_while_reading(field: str) -> None:
    """A 1,000-character ``id`` (or ``userId``, ``issue``) is a client error found before
    anything is signed, not an internal error of the message log (issue 15)."""
    kwargs = {"query_id": "q", field: "x" * 1000}
    data = build_request(client=MemberId("EE", "GOV", "1"), service=SERVICE, body=etree.Element("{urn:x}getPerson"),
                         **kwargs)
    with pytest.raises(XRoadFault) as info:
        parse_soap(data, "text/xml")
    assert info.value.fault_code == "invalid_request" and "longer than 255" in info.value.message
    exact = dict(kwargs, **{field: "x" * 255})
    _parse(build_request(client=MemberId("EE", "GOV", "1"), service=SERVICE, body=etree.Element("{urn:x}getPerson"),
                         **exact))


def test_vector_requests_survive_chunked_reading(xroad: Path) -> None:
    """Every multipart vector reads identically whole and in 3-byte chunks."""
    for path in sorted((xroad / "soap" / "queries").glob("attach*.query")):
        data = path.read_bytes()
        if not data.startswith(b"--"):
            continue
        ctype = "multipart/related; boundary=" + data.split(b"\n", 1)[0][2:].strip().decode()
        outcomes = []
        for chunks in ([data], list(chunked(data, 3))):
            try:
                m = parse_soap(chunks, ctype)
                outcomes.append((m.soap_bytes, [a.read() for a in m.attachments]))
            except XRoadFault as exc:
                outcomes.append(exc.fault_code)
        assert outcomes[0] == outcomes[1], path.name


def test_attachment_references_resolve(xroad: Path) -> None:
    raw = (xroad / "soap" / "queries" / "attachm-mtom.query").read_bytes()
    message = _parse(raw, 'multipart/related; type="application/xop+xml"; boundary=jetty771207119h3h10dty')
    [reference] = message.attachment_references()
    found = message.attachment(reference)
    assert found is not None and found.read() == b"foobar"
    assert message.attachment("cid:nothing@here") is None
    soap = _request().replace(b"<ns0:code>", b"<ns0:file>cid:att1@x</ns0:file><ns0:code>")
    ctype, body = multipart_related(soap, [((("Content-Type", "text/plain"), ("Content-ID", "<att1@x>")), b"data")], boundary="q")
    swa = _parse(body, ctype)
    assert swa.attachment_references() == ["cid:att1@x"]
    assert swa.attachment("cid:att1@x") is not None


def test_request_hash_insertion_ignores_lookalikes_in_comments_and_cdata() -> None:
    request = _request()
    answer = request.replace(
        b"<xroad:id>q-1</xroad:id>",
        b"<!-- <xroad:id>fake</xroad:id> --><xroad:id><![CDATA[q-1]]></xroad:id>"
        b"<xroad:requestHash algorithmId=\"x>y\">old</xroad:requestHash>",
    )
    provided = _parse(answer, role="response")
    assert provided.header.query_id == "q-1"
    hashed = insert_request_hash(provided, request)
    assert b"<!-- <xroad:id>fake</xroad:id> --><xroad:id><![CDATA[q-1]]></xroad:id><xroad:requestHash " in hashed
    assert b">old<" not in hashed
    verify_request_hash(_parse(hashed, role="response"), request)


def test_request_hash_insertion_skips_processing_instructions_and_end_tags_in_cdata() -> None:
    request = _request()
    answer = request.replace(
        b"<xroad:id>q-1</xroad:id>",
        b"<?note <xroad:id>pi</xroad:id> ?><!----><xroad:id>q-<![CDATA[</xroad:id>]]>1</xroad:id >"
        b"<!-- <xroad:requestHash>x</xroad:requestHash> --><xroad:requestHash>old</xroad:requestHash>",
    )
    provided = _parse(answer, role="response")
    assert provided.header.query_id == "q-</xroad:id>1"
    hashed = insert_request_hash(provided, request)
    assert b"<xroad:id>q-<![CDATA[</xroad:id>]]>1</xroad:id ><xroad:requestHash algorithmId=" in hashed
    assert b"<!-- <xroad:requestHash>x</xroad:requestHash> -->" in hashed and b">old<" not in hashed
    assert b"<?note <xroad:id>pi</xroad:id> ?>" in hashed
    verify_request_hash(_parse(hashed, role="response"), request)


@pytest.mark.parametrize("data,where", [
    (b"<broken", "line 1, column 8"),
    (b'<?xml version="1.0"?>\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">\n<s:Body></s:Bod>'
     b"</s:Envelope>", "line 3, column"),
])
def test_malformed_xml_is_one_clean_sentence(data: bytes, where: str) -> None:
    """No repeated prefix and no lxml internals such as ``(<string>, line 21)`` (issue 14)."""
    with pytest.raises(XRoadFault) as info:
        parse_soap(data, "text/xml")
    message = info.value.message
    assert message.startswith("the SOAP message is not well-formed XML at " + where)
    assert message.count("well-formed") == 1 and "<string>" not in message
    assert message.count("column") == 1
