"""The namespace constants: written once, spelt as the X-Road and W3C documents spell them."""

from __future__ import annotations

import trust.protocol as protocol
from trust.protocol import _namespaces


def test_xroad_namespaces_are_the_published_uris() -> None:
    assert protocol.XROAD_NS == "http://x-road.eu/xsd/xroad.xsd"
    assert protocol.IDENTIFIERS_NS == "http://x-road.eu/xsd/identifiers"
    assert protocol.REPRESENTATION_NS == "http://x-road.eu/xsd/representation.xsd"
    assert protocol.SECURITY_TOKEN_NS == "http://x-road.eu/xsd/security-token.xsd"


def test_soap_and_wsdl_namespaces() -> None:
    assert protocol.SOAP_ENV_NS == "http://schemas.xmlsoap.org/soap/envelope/"
    assert protocol.SOAP12_ENV_NS == "http://www.w3.org/2003/05/soap-envelope"
    assert protocol.WSDL_NS == "http://schemas.xmlsoap.org/wsdl/"
    assert protocol.WSDL_SOAP_NS == "http://schemas.xmlsoap.org/wsdl/soap/"
    assert protocol.XSD_NS == "http://www.w3.org/2001/XMLSchema"


def test_every_constant_is_on_the_face_and_distinct() -> None:
    values = [getattr(_namespaces, name) for name in _namespaces.__all__]
    assert len(set(values)) == len(values)
    for name in _namespaces.__all__:
        assert name in protocol.__all__
        assert getattr(protocol, name) == getattr(_namespaces, name)
