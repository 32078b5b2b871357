"""The protocol areas of the conformance report, in the order the report lists them.

A test joins the report by carrying ``@pytest.mark.conformance(area=KEY, ...)``; KEY must be
one of :data:`AREAS` (the plugin refuses others at collection, so a typo cannot start a new
area silently). What each area *is* is written here once; which checks prove it, what they
expect and what they observed come from the tests themselves, at run time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Area:
    """One protocol area: its title in the report and what sild supports of it."""

    key: str
    title: str
    supported: str


AREAS: dict[str, Area] = {area.key: area for area in (
    Area("identifiers", "Identifiers", "members, subsystems, services, servers, groups; XML of X-Road's schema"),
    Area("soap", "SOAP 4.0 headers and messages", "SOAP 1.1 envelopes, every header of protocol 4.0, SwA and MTOM"),
    Area("rest", "REST r1", "the r1 path, X-Road-* headers, header parts, request hash, X-Road-Error"),
    Area("faults", "Error codes", "X-Road 7.8 codes sent, 7.7 spellings read; SOAP faults and X-Road-Error"),
    Area("globalconf", "Global configuration V2-V6", "reads versions 2 to 6, writes 6 (and 2 to 5 on request)"),
    Area("directory", "Signed configuration directory", "multipart directory, per-part hashes, signature, trees"),
    Area("anchors", "Anchors", "X-Road's anchor XML, SHA-224 fingerprint over the file bytes"),
    Area("transport", "Transport between gateways", "the proxy message format, mutual TLS on auth certificates"),
    Area("certificates", "Certificates", "the CA issues X-Road's certificate profiles; openssl reads and verifies them"),
    Area("ocsp", "OCSP", "RFC 6960 responder and client; X-Road's OCSP responses"),
    Area("timestamps", "Timestamps", "RFC 3161 TSA and verification, X-Road's batch timestamps"),
    Area("xades", "XAdES signatures and hash chains", "X-Road's XAdES layout, batch signatures over hash chains"),
    Area("asic", "ASiC-E containers", "X-Road's message-log containers, verified at the evidence time"),
    Area("xmldsig", "XML-DSig payload signatures", "adapter payload signatures checked by xmlsec1 and signxml"),
    Area("wsdl", "WSDL and OpenAPI", "X-Road's WSDL checks, self-contained WSDLs, OpenAPI 3.0 and 3.1"),
    Area("metaservices", "Metaservices", "listClients, listMethods, allowedMethods, getWsdl, getOpenAPI"),
    Area("opmonitoring", "Operational monitoring schemas", "op-monitoring answers valid for X-Road's schema"),
)}
