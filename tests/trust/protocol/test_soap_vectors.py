"""X-Road's SOAP test messages, driven from ``soap/manifest.json``.

Each manifest case names the X-Road test that used the file and the outcome it
asserts. Here every case is mapped to what the *message layer* must do to reach the
same outcome (the :data:`SCENARIOS` table, keyed by file and X-Road case name):

* ``parse``     X-Road's parser-level unit test: parse the file, same code, no prefix;
* ``client``    the client proxy reading IS input: parse as a request, ``fault.at("client")``;
* ``exchange``  a full exchange at message level: request and answer parse, the answer
  echoes the request header, the provider gateway inserts ``requestHash`` by byte
  insertion, the consumer gateway re-parses and verifies it;
* ``answer``    the provider gateway reading the provider IS answer:
  ``fault.service_failed("server.serverproxy")`` or the provider's own fault passed on;
* ``to_sp`` / ``from_sp``  a gateway decoding a proxy message from its peer
  (:func:`trust.protocol._proxy_decode.decode` + :func:`trust.protocol._proxy_decode.inbound_fault`);
* ``decoder`` / ``encoder``  X-Road's proxy message unit tests;
* ``environment``  the outcome comes from TLS, configuration, access rights, the network
  or signing (the proxies' tests cover those); here: the messages parse, and the code
  is a well-formed X-Road code that renders and reads back as a SOAP fault;
* ``unused``    no X-Road test reads the file: it must give a definite outcome
  (a message or an X-Road fault), never another exception.

Per the README every ``xroad:id`` is replaced by a fresh value per run.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Callable

import pytest

from trust.protocol import _faults as faults
import trust.protocol as transport
from trust.protocol import XRoadFault
from trust.protocol.mime import chunked
from trust.protocol import SoapFaultMessage, SoapMessage, parse_soap
from trust.protocol._soap import check_http_method, check_soap_action
from trust.protocol import check_consistency, insert_request_hash, verify_request_hash
from trust.protocol._soap_build import multipart_for_is, request_hash, response_name

from tests.support.conformance import XROAD
from tests.support.soap_scenarios import MANIFEST_PATH, SCENARIOS, S, case_key, default_type, fresh_ids


EXPECTED = {"accept": "accepted", "unknown": "read by no X-Road test: parses, or refused with a known fault code"}
"""What the conformance report says a case without a fault code expects (the manifest's ``expect``)."""


def _cases() -> list:
    cases = json.loads(MANIFEST_PATH.read_text("utf-8"))["cases"]
    params = []
    for number, case in enumerate(cases):
        key = case_key(case)
        marks = []
        if "0 bytes" in case["notes"] and "snapshot" in case["notes"]:
            marks.append(pytest.mark.skip(reason=f"manifest: {case['file']} is missing from the vector snapshot (0 bytes)"))
        params.append(pytest.param(case, key, id=f"{number:03d}-{key}", marks=marks))
    return params


def test_every_case_has_a_scenario() -> None:
    keys = [case_key(c) for c in json.loads(MANIFEST_PATH.read_text("utf-8"))["cases"]]
    missing = [k for k in keys if k not in SCENARIOS and not k.startswith("attachment-small-mantis")]
    assert missing == []
    assert len(set(keys)) == len(keys)


# -- helpers ----------------------------------------------------------------------------


def expect_code(exc: XRoadFault, case: dict) -> str:
    """Check the fault sild gave against the case; return its code (what the conformance report shows)."""
    assert exc.fault_code == case["fault_code"], exc.message
    # the 7.7 spelling reads as the same code, except where 7.8 changed the leaf itself
    if "NetworkError" not in case["fault_code_old"] or "network_error" in case["fault_code"]:
        assert faults.codes_equal(case["fault_code_old"], exc.fault_code)
    return exc.fault_code


# -- the test -----------------------------------------------------------------------------


@pytest.mark.parametrize("case,key", _cases())
@pytest.mark.conformance(area="soap", vector="soap/queries/{case[file]}",
                         expected=lambda p: p["case"]["fault_code"] or EXPECTED.get(p["case"]["expect"], p["case"]["expect"]))
def test_manifest_case(case: dict, key: str, xroad: Path, record_property: Callable[[str, object], None]) -> None:
    scenario = SCENARIOS[key]
    queries = xroad / "soap" / "queries"
    qid = f"sild-{uuid.uuid4()}"
    raw = (queries / case["file"]).read_bytes()
    data = fresh_ids(raw, qid)
    answer = fresh_ids((queries / case["answer"]).read_bytes(), qid) if case["answer"] else None
    runner = globals()[f"_run_{scenario.kind}"]
    observed = runner(case, scenario, data, answer, qid)
    if observed is not None:  # the fault code sild gave, for the conformance report
        record_property("observed", observed)


def _run_unused(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> None:
    role = "response" if case["file"].endswith(".answer") else "request"
    try:
        result = parse_soap(data, default_type(data), role=role)
    except XRoadFault as exc:
        assert exc.fault_code in {f for f in faults.KNOWN_LEAVES}
    else:
        assert isinstance(result, (SoapMessage, SoapFaultMessage))


def _run_client(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    with pytest.raises(XRoadFault) as info:
        parse_soap(data, s.request_type or default_type(data), role="request")
    return expect_code(info.value.at(faults.CLIENT), case)


def _run_client_fault(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    message = parse_soap(data, default_type(data))
    assert isinstance(message, SoapFaultMessage)
    return expect_code(message.as_client_fault(), case)


def _run_soap_action(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    if case["expect"] == "fault":
        with pytest.raises(XRoadFault) as info:
            check_soap_action(s.note)
        return expect_code(info.value.at(faults.CLIENT), case)
    else:
        assert check_soap_action(s.note) == s.note  # forwarded unchanged
        _run_exchange(case, S("exchange"), data, answer, qid)


def _run_http_method(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    check_http_method("POST")
    with pytest.raises(XRoadFault) as info:
        check_http_method("GET")
    return expect_code(info.value.at(s.note), case)


def _run_parse(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    role = "response" if case["file"].endswith(".answer") else "request"
    ctype = s.request_type or default_type(data)
    if case["expect"] == "fault":
        with pytest.raises(XRoadFault) as info:
            parse_soap(data, ctype, role=role)
        return expect_code(info.value, case)
    message = parse_soap(data, ctype, role=role)
    assert isinstance(message, SoapMessage)
    assert message.soap_bytes == data  # never re-encoded
    h = message.header
    assert h.query_id == qid
    if s.note in ("simple", "rpc", "response"):
        assert h.client.to_text() == "EE/BUSINESS/consumer"
        assert h.service is not None and h.service.to_text() == "EE/BUSINESS/producer/testQuery"
        assert h.user_id == "EE37702211234"
        assert message.rpc is (s.note == "rpc")
    if s.note == "represented":
        assert h.represented_party is not None
        assert (h.represented_party.party_class, h.represented_party.party_code) == ("COM", "MEMBER3")
        assert h.issue == "issue-1"
    if s.note == "suffix":
        assert message.body_name.localname == "testQueryRequest"
        assert response_name(message.body_name.localname) == "testQueryResponse"
    if s.note == "requestId":
        found = message.envelope.findtext(".//{http://x-road.eu/xsd/xroad.xsd}requestId")
        assert found == "413"


def _run_consistency(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    request = parse_soap(data, default_type(data))
    assert isinstance(request, SoapMessage)
    check_consistency(request, request, code=faults.INCONSISTENT_HEADERS)
    assert answer is not None
    response = parse_soap(answer, default_type(answer), role="response")
    assert isinstance(response, SoapMessage)
    if case["expect"] == "fault":
        with pytest.raises(XRoadFault) as info:
            check_consistency(request, response, code=faults.INCONSISTENT_HEADERS)
        return expect_code(info.value, case)
    else:
        check_consistency(request, response, code=faults.INCONSISTENT_HEADERS)


def _exchange(s: S, data: bytes, answer: bytes) -> tuple[SoapMessage, SoapMessage | SoapFaultMessage, bytes]:
    request = parse_soap(data, s.request_type or default_type(data), role="request")
    assert isinstance(request, SoapMessage)
    provided = parse_soap(answer, s.answer_type or default_type(answer), role="response")
    if isinstance(provided, SoapFaultMessage):
        return request, provided, b""
    if s.note != "no-consistency":
        check_consistency(request, provided)
    hashed = insert_request_hash(provided, request.soap_bytes)
    return request, provided, hashed


def _through_gateways(message: SoapMessage, soap_bytes: bytes, role: str) -> SoapMessage:
    """Consumer gateway -> transport -> provider gateway -> IS (or back), at message level:
    the SOAP bytes, the IS's content type and every attachment with its headers arrive."""
    content = transport.SoapContent.from_message(message, soap_bytes)
    ctype, chunks = transport.encode(content, signature=b"<signature/>", ocsp_responses=[b"ocsp"] if role == "request" else [])
    decoded = transport.decode(
        chunked(b"".join(chunks), 997), ctype, role=role, original_content_type=message.content_type  # type: ignore[arg-type]
    )
    assert isinstance(decoded.soap, SoapMessage) and decoded.soap.soap_bytes == soap_bytes
    if message.multipart:
        out_type, out_chunks = multipart_for_is(
            message.content_type,
            decoded.soap.soap_bytes,
            decoded.soap.soap_part_headers,
            [(a.headers.items, a.body.iter_chunks()) for a in decoded.soap.attachments],
        )
        delivered = parse_soap(b"".join(out_chunks), out_type, role=role)  # type: ignore[arg-type]
    else:
        delivered = parse_soap(decoded.soap.soap_bytes, message.content_type, role=role)  # type: ignore[arg-type]
    assert isinstance(delivered, SoapMessage)
    assert delivered.content_type == message.content_type
    assert delivered.soap_part_headers == message.soap_part_headers
    assert [(a.headers.items, a.read()) for a in delivered.attachments] == [
        (a.headers.items, a.read()) for a in message.attachments
    ]
    return delivered


def _run_exchange(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> None:
    assert answer is not None
    if s.note == "bom":
        data, answer = b"\xef\xbb\xbf" + data, b"\xef\xbb\xbf" + answer
    request, provided, hashed = _exchange(s, data, answer)
    assert request.header.query_id == qid
    at_provider = _through_gateways(request, request.soap_bytes, "request")
    assert at_provider.soap_bytes == request.soap_bytes
    if s.note == "provider-fault":
        assert isinstance(provided, SoapFaultMessage)
        assert b"Unable to create payload, try increasing the size" in provided.soap_bytes
        return
    assert isinstance(provided, SoapMessage)
    # the consumer gateway reads what the provider gateway produced
    final = _through_gateways(provided, hashed, "response")
    verify_request_hash(final, request.soap_bytes)
    assert final.header.request_hash is not None
    assert final.header.request_hash.value == request_hash(request.soap_bytes)
    if s.note != "no-consistency":
        check_consistency(request, final)
    # only the requestHash element was added (and an IS-supplied one removed)
    if s.note == "override":
        assert b">foo<" not in hashed and b">foo<" in provided.soap_bytes
    else:
        assert len(hashed) > len(provided.soap_bytes)
        assert hashed.startswith(provided.soap_bytes[:40])
        assert hashed.endswith(provided.soap_bytes[-40:])
    header_names = [el.tag.split("}")[1] for el in final.envelope[0] if isinstance(el.tag, str)]
    id_index = header_names.index("id")
    assert header_names[id_index + 1] == "requestHash"
    if s.note == "bom":
        assert request.soap_bytes.startswith(b"\xef\xbb\xbf")
    if s.note == "cdata":
        for message in (request, final):
            assert message.envelope.findtext(".//{http://x-road.eu/xsd/xroad.xsd}xml") == "<a><b><c>12345678</c></b></a>"
    if s.note == "split":
        for message in (request, final):
            assert message.header.issue == "w\naa\nww\n"
    if s.note == "xmlencoded":
        for message in (request, final):
            assert message.header.user_id == "<\"EE37702211234\" & 'xml encoded'>"
    if s.note == "comment":
        comments = [c for c in final.envelope[0] if not isinstance(c.tag, str)]
        assert comments and comments[0].text == provided.envelope[0][0].text
    if s.note == "client-header":
        assert [a.headers.get("Client-Header") for a in at_provider.attachments] == ["FooBar"]
    if s.note == "mtom":
        assert request.mtom and request.attachments[0].content_id == "42a7ee0a-20ee-426b-a135-094d72bc138f@example.org"
        assert at_provider.content_type == s.request_type  # identical content type at the provider
        assert dict(at_provider.soap_part_headers)["Content-ID"] == "<foo>"  # Content-ID on both parts
        assert at_provider.soap_content_type.startswith("application/xop+xml")
        assert at_provider.attachments[0].content_type == "text/plain; charset=UTF-8; name=attachment.txt"
        assert final.content_type == provided.content_type  # and the provider's back to the client


def _run_inconsistent(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    assert answer is not None
    request = parse_soap(data, default_type(data))
    provided = parse_soap(answer, default_type(answer), role="response")
    assert isinstance(request, SoapMessage) and isinstance(provided, SoapMessage)
    with pytest.raises(XRoadFault) as info:
        check_consistency(request, provided)
    return expect_code(info.value.service_failed(faults.SERVER_CLIENTPROXY), case)


def _run_answer(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    request = parse_soap(data, default_type(data))
    assert isinstance(request, SoapMessage)
    body = answer if answer is not None else b""
    ctype = s.answer_type if (s.answer_type or s.note == "no-content-type") else default_type(body)
    try:
        provided = parse_soap(body, ctype, role="response")
    except XRoadFault as exc:
        return expect_code(exc.service_failed(faults.SERVER_SERVERPROXY), case)
    # the provider's own fault passes to the client unchanged
    assert isinstance(provided, SoapFaultMessage)
    assert provided.faultcode == case["fault_code"]


def _run_to_sp(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    with pytest.raises(XRoadFault) as info:
        transport.decode(data, s.request_type, role="request")
    return expect_code(transport.inbound_fault(info.value, faults.SERVER_SERVERPROXY), case)


def _run_from_sp(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    body = b"" if s.note == "empty" else (answer or b"")
    with pytest.raises(XRoadFault) as info:
        transport.decode(body, s.answer_type, role="response")
    return expect_code(transport.inbound_fault(info.value, faults.SERVER_CLIENTPROXY), case)


def _run_decoder(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> str | None:
    if case["expect"] == "fault":
        with pytest.raises(XRoadFault) as info:
            transport.decode(data, s.request_type, role="response")
        return expect_code(info.value, case)
    else:
        message = transport.decode(data, s.request_type, role="response")
        assert message.fault is not None and message.fault.faultcode == "CODE"


def _run_encoder(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> None:
    queries = XROAD / "soap" / "queries"
    signature = (queries / "signature.xml").read_bytes()
    ocsp = (queries / "test.ocsp").read_bytes()
    if s.note == "fault":
        ctype, chunks = transport.encode(None, fault=data)
        decoded = transport.decode(b"".join(chunks), ctype, role="response")
        assert decoded.fault is not None and decoded.fault.faultstring == "STRING"
        # normalMessageWithFaultInsteadOfSignature: the SOAP part, then the fault
        getstate = fresh_ids((queries / "getstate.query").read_bytes(), qid)
        ctype, chunks = transport.encode(transport.SoapContent(getstate, "text/xml; charset=UTF-8"), fault=data)
        decoded = transport.decode(b"".join(chunks), ctype, role="request")
        assert decoded.soap is not None and decoded.soap.soap_bytes == getstate
        assert decoded.fault is not None and decoded.signature is None
        return
    # normalMessage, normalMessageWithOcsp, normalMessageWithAttachment
    for variant in ("plain", "ocsp", "attachment"):
        attachments = (
            [transport.OutgoingAttachment((("Content-Type", "text/plain"), ("Content-ID", "<a1>")), [b"small attachment"])]
            if variant == "attachment"
            else []
        )
        content = transport.SoapContent(data, "text/xml; charset=UTF-8", attachments)
        ctype, chunks = transport.encode(content, signature=signature, ocsp_responses=[ocsp] if variant == "ocsp" else [])
        decoded = transport.decode(b"".join(chunks), ctype, role="request")
        assert isinstance(decoded.soap, SoapMessage)
        assert decoded.soap.soap_bytes == data
        assert decoded.signature == signature
        assert decoded.ocsp_responses == ((ocsp,) if variant == "ocsp" else ())
        if variant == "attachment":
            assert [a.read() for a in decoded.soap.attachments] == [b"small attachment"]
            assert decoded.soap.attachments[0].content_id == "a1"


def _run_environment(case: dict, s: S, data: bytes, answer: bytes | None, qid: str) -> None:
    request = parse_soap(data, default_type(data))
    assert isinstance(request, SoapMessage)
    if answer is not None:
        assert isinstance(parse_soap(answer, default_type(answer), role="response"), SoapMessage)
    if case["expect"] == "fault" and case["fault_code"]:
        code = case["fault_code"]
        origin, _, leaf = faults.split_code(code)
        assert origin is not None and leaf in faults.KNOWN_LEAVES
        rendered = XRoadFault(code, "failure", correlation_id=qid).to_soap()
        back = parse_soap(rendered, "text/xml; charset=UTF-8", role="response")
        assert isinstance(back, SoapFaultMessage)
        assert (back.faultcode, back.detail) == (code, qid)
        if "NetworkError" not in case["fault_code_old"] or "network_error" in code:
            assert faults.normalize_code(case["fault_code_old"]) == code
