"""X-Road error codes: both styles read, snake_case emitted, SOAP and REST renderings."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from trust.protocol import _faults as faults
from trust.protocol import XRoadFault, internal_fault, normalize_code
from trust.protocol._faults import fault_from_rest, split_code, with_origin
from trust.protocol import SoapFaultMessage, parse_soap


@pytest.mark.parametrize(
    "old,new",
    [
        ("Server.ClientProxy.AccessDenied", "server.clientproxy.access_denied"),
        ("Server.ServerProxy.ServiceFailed.SslAuthenticationFailed", "server.serverproxy.service_failed.ssl_authentication_failed"),
        ("Server.ClientProxy.ServiceFailed.IOError", "server.clientproxy.service_failed.io_error"),
        ("Client.InvalidXml", "client.invalid_xml"),
        ("Client.CODE", "client.code"),
        ("InvalidContentType", "invalid_content_type"),
        ("Signer.TokenNotActive", "signer.token_not_active"),
        ("server.clientproxy.access_denied", "server.clientproxy.access_denied"),
    ],
)
@pytest.mark.conformance(area="faults", expected="X-Road 7.7's {old} reads as {new}")
def test_normalize(old: str, new: str) -> None:
    assert normalize_code(old) == new
    assert faults.codes_equal(old, new)


def test_split_and_origin() -> None:
    assert split_code("server.serverproxy.service_failed.unknown_host") == ("server.serverproxy", True, "unknown_host")
    assert split_code("missing_header_field") == (None, False, "missing_header_field")
    assert with_origin("missing_header_field", faults.CLIENT) == "client.missing_header_field"
    assert with_origin("invalid_soap", faults.SERVER_SERVERPROXY, service_failed=True) == (
        "server.serverproxy.service_failed.invalid_soap"
    )
    # a code that already has an origin keeps it (relayed faults)
    assert with_origin("server.serverproxy.access_denied", faults.SERVER_CLIENTPROXY) == "server.serverproxy.access_denied"
    with pytest.raises(ValueError):
        with_origin("x", "nowhere")
    fault = XRoadFault("server.serverproxy.invalid_soap", "m", correlation_id="c")
    assert fault.service_failed(faults.SERVER_CLIENTPROXY).fault_code == "server.clientproxy.service_failed.invalid_soap"
    assert fault.service_failed(faults.SERVER_CLIENTPROXY).correlation_id == "c"


def test_fault_is_protocol_error_with_code() -> None:
    from trust.errors import ProtocolError, SildError

    fault = XRoadFault("Server.ClientProxy.AccessDenied", "denied")
    assert isinstance(fault, ProtocolError) and isinstance(fault, SildError)
    assert fault.code == fault.fault_code == "server.clientproxy.access_denied"
    assert len(fault.correlation_id) == 36 and fault.correlation_id != XRoadFault("client.x", "y").correlation_id
    with pytest.raises(ValueError):
        XRoadFault("client..x", "bad")


@pytest.mark.conformance(area="faults")
def test_soap_rendering_round_trip() -> None:
    fault = XRoadFault("server.clientproxy.access_denied", "Request <x> & 'y' denied", correlation_id="cid-1", actor="me")
    data = fault.to_soap()
    root = etree.fromstring(data)
    body_fault = root.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert body_fault is not None
    assert body_fault.findtext("faultcode") == "server.clientproxy.access_denied"  # plain text, not a QName
    assert body_fault.find("detail/faultDetail").text == "cid-1"
    parsed = parse_soap(data, "text/xml; charset=UTF-8", role="response")
    assert isinstance(parsed, SoapFaultMessage)
    assert (parsed.faultcode, parsed.faultstring, parsed.faultactor, parsed.detail) == (
        "server.clientproxy.access_denied",
        "Request <x> & 'y' denied",
        "me",
        "cid-1",
    )


@pytest.mark.conformance(area="faults")
def test_internal_fault_leaks_nothing() -> None:
    try:
        open("/etc/sild/does/not/exist/backend.internal:8443")
    except OSError:
        fault = internal_fault(faults.SERVER_SERVERPROXY, correlation_id="abc")
    text = fault.to_soap().decode() + fault.to_rest().body.decode()
    assert "backend.internal" not in text and "Traceback" not in text and "/etc/" not in text
    assert "abc" in fault.message
    assert fault.fault_code == "server.serverproxy.internal_error"


@pytest.mark.parametrize(
    "code,status", [("server.clientproxy.access_denied", 500), ("client.invalid_soap", 400), ("server.serverproxy.unknown_service", 500)]
)
@pytest.mark.conformance(area="faults", expected="X-Road-Error {code} with HTTP {status} and a JSON body")
def test_rest_rendering_json(code: str, status: int) -> None:
    fault = XRoadFault(code, "msg", correlation_id="u-1")
    rendered = fault.to_rest("application/json")
    assert rendered.status == status
    assert dict(rendered.headers)["X-Road-Error"] == code
    assert json.loads(rendered.body) == {"type": code, "message": "msg", "detail": "u-1"}
    back = fault_from_rest(rendered.status, dict(rendered.headers), rendered.body)
    assert back is not None and (back.fault_code, back.message, back.correlation_id) == (code, "msg", "u-1")


def test_rest_rendering_xml_when_accept_wants_it() -> None:
    fault = XRoadFault("client.bad_request", "m & n", correlation_id="u-2")
    for accept in ("application/xml", "text/xml", "application/json;q=0.5, application/xml"):
        rendered = fault.to_rest(accept)
        assert rendered.content_type.startswith("application/xml")
        root = etree.fromstring(rendered.body)
        assert [root.findtext(t) for t in ("type", "message", "detail")] == ["client.bad_request", "m & n", "u-2"]
    for accept in (None, "", "*/*", "application/json", "application/xml;q=0.1, application/json"):
        assert fault.to_rest(accept).content_type.startswith("application/json")


def test_rest_without_error_header_is_provider_error() -> None:
    assert fault_from_rest(500, {"Content-Type": "application/json"}, b'{"x":1}') is None


# -- sild errors at a protocol edge: one table ------------------------------------------

from trust import xades  # noqa: E402
from trust.errors import SildError, TrustError  # noqa: E402
from trust.protocol import fault_for  # noqa: E402


@pytest.mark.parametrize(
    ("error", "leaf"),
    [
        (xades.SignatureMalformed, "malformed_signature"),
        (xades.DigestMismatch, "invalid_signature_value"),
        (xades.BadSignatureValue, "invalid_signature_value"),
        (xades.MissingReference, "invalid_signature_value"),
        (xades.SignerMismatch, "incorrect_certificate"),
        (xades.CertificateUsage, "incorrect_certificate"),
        (xades.UntrustedChain, "cert_validation"),
        (xades.OcspMissing, "cert_validation"),
        (xades.OcspInvalid, "cert_validation"),
        (xades.OcspRevoked, "cert_validation"),
        (xades.OcspStale, "cert_validation"),
        (xades.HashChainBroken, "invalid_signature_value"),
        (xades.SignatureError, "invalid_signature_value"),
        (TrustError, "invalid_signature_value"),
    ],
)
@pytest.mark.conformance(area="faults", expected="{error.__name__} maps to {leaf}")
def test_signature_errors_map_to_xroad_codes(error: type[SildError], leaf: str) -> None:
    fault = fault_for(error("the digest of /message.xml differs"), "signature check failed",
                      default="invalid_signature_value")
    assert fault.fault_code == leaf and fault.origin is None
    assert fault.message == "signature check failed: the digest of /message.xml differs"


def test_a_subclass_takes_its_bases_code_and_an_instance_code_comes_first() -> None:
    class Narrower(xades.SignerMismatch):
        code = "trust.signature.signer_mismatch.narrower"

    assert faults.fault_leaf(Narrower("x"), "invalid_signature_value") == "incorrect_certificate"
    renamed = xades.DigestMismatch("x", code="trust.signature.malformed")
    assert faults.fault_leaf(renamed, "invalid_signature_value") == "malformed_signature"
    assert faults.fault_leaf(SildError("x"), "internal_error") == "internal_error"


def test_every_table_entry_is_a_known_leaf() -> None:
    assert set(faults.ERROR_FAULTS.values()) <= faults.KNOWN_LEAVES
