"""The XML namespaces of X-Road's vocabulary, written down once.

X-Road messages, global configuration files, WSDLs and logged evidence all speak in
the same handful of namespaces. A namespace URI typed twice is a namespace that can
be typed wrong once: a misspelt ``xroad.xsd`` makes a parser find no header at all
rather than fail loudly. So every sild module that names one of these namespaces
imports it from here (through the ``trust.protocol`` face); tests may spell them out,
because they check the wire, not the code.
"""

from __future__ import annotations

# -- X-Road's own ----------------------------------------------------------------------

XROAD_NS = "http://x-road.eu/xsd/xroad.xsd"
"""SOAP header fields, WSDL documentation, metaservices and global configuration."""
IDENTIFIERS_NS = "http://x-road.eu/xsd/identifiers"
REPRESENTATION_NS = "http://x-road.eu/xsd/representation.xsd"
SECURITY_TOKEN_NS = "http://x-road.eu/xsd/security-token.xsd"
LEGACY_XROAD_NS = "http://x-road.ee/xsd/x-road.xsd"
"""The namespace of X-Road's pre-4.0 message protocol, still met in old WSDLs."""

# -- sild's own (never required of an X-Road peer) ------------------------------------------

SILD_NS = "http://sild.eu/xsd/sild.xsd"
"""sild's additions to a SOAP header (the declared purpose, :mod:`._purpose`)."""

# -- SOAP and WSDL ---------------------------------------------------------------------

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
"""SOAP 1.1 envelope: the only envelope X-Road's message protocol 4.0 uses."""
SOAP12_ENV_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP_ENCODING_NS = "http://schemas.xmlsoap.org/soap/encoding/"
"""SOAP 1.1 section 5 encoding, the ``encodingStyle`` of RPC/encoded services."""
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12_NS = "http://schemas.xmlsoap.org/wsdl/soap12/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

__all__ = [
    "IDENTIFIERS_NS",
    "LEGACY_XROAD_NS",
    "REPRESENTATION_NS",
    "SECURITY_TOKEN_NS",
    "SILD_NS",
    "SOAP12_ENV_NS",
    "SOAP_ENCODING_NS",
    "SOAP_ENV_NS",
    "WSDL_NS",
    "WSDL_SOAP12_NS",
    "WSDL_SOAP_NS",
    "XROAD_NS",
    "XSD_NS",
    "XSI_NS",
]
