"""Provider WSDLs: read them safely, list their operations, validate, rewrite for serving.

* :func:`parse_wsdl` parses through :func:`trust.infra._safexml.parse_xml` (no DTD, no entity,
  no network: the XXE vector is refused, never resolved) and returns a
  :class:`WsdlDescription` listing operations with ``xrd:version`` and the
  ``xrd:title`` / ``notes`` / ``techNotes`` documentation.
* Validation refuses, with a :class:`WsdlError` naming the problem, what X-Road's
  WSDL checks refuse: not XML, not ``wsdl:definitions``, no SOAP operations, service
  codes or versions with characters identifiers cannot carry (``: ; / \\ %``,
  ``/../``), non-HTTP(S) service URLs, broken schema names and dangling references.
* :func:`rewrite_endpoint` sets every ``soap:address@location`` to
  ``http://example.org/xroad-endpoint`` (what ``getWsdl`` returns, NOTES 4).
* :func:`make_self_contained` points schema imports of X-Road's and W3C's well-known
  schemas at ``{base}/schemas/...``, served by the gateway from ``gateway/schemas``:
  government networks often have no internet, and zeep fails on the originals.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from importlib import resources
from typing import Iterable

from lxml import etree

from trust.errors import ProtocolError
from trust.errors import XmlError
from trust.infra import parse_xml

from ._namespaces import (
    IDENTIFIERS_NS, LEGACY_XROAD_NS, REPRESENTATION_NS, WSDL_NS, WSDL_SOAP12_NS as SOAP12_NS,
    WSDL_SOAP_NS as SOAP11_NS, XROAD_NS, XSD_NS,
)

XROAD_NAMESPACES = (XROAD_NS, LEGACY_XROAD_NS)
ENDPOINT_PLACEHOLDER = "http://example.org/xroad-endpoint"
MAX_WSDL_BYTES = 8 * 1024 * 1024

# well-known schema locations -> file served from gateway/schemas
SCHEMA_FILES = {
    XROAD_NS: "xroad.xsd",
    IDENTIFIERS_NS + ".xsd": "identifiers.xsd",
    IDENTIFIERS_NS: "identifiers.xsd",
    REPRESENTATION_NS: "representation.xsd",
    "http://www.w3.org/2001/xml.xsd": "xml.xsd",
    "https://www.w3.org/2001/xml.xsd": "xml.xsd",
    "http://www.w3.org/XML/1998/namespace": "xml.xsd",
}
# imports by namespace only (no schemaLocation) that get a location added
NAMESPACE_FILES = {
    XROAD_NS: "xroad.xsd",
    IDENTIFIERS_NS: "identifiers.xsd",
    REPRESENTATION_NS: "representation.xsd",
    "http://www.w3.org/XML/1998/namespace": "xml.xsd",
}

_BAD_CODE = re.compile(r"[:;/\\%\x00-\x1f\x7f\u200b\ufeff]")
_NCNAME = re.compile(r"^[A-Za-z_][\w.\-]*$")


class WsdlError(ProtocolError):
    """A WSDL cannot be registered or served; the message says why."""

    code = "gateway.wsdl.invalid"


@dataclass(frozen=True)
class WsdlOperation:
    """One SOAP operation: X-Road's service code (operation name) and version."""

    name: str
    version: str | None
    title: str | None = None
    notes: str | None = None
    tech_notes: str | None = None


@dataclass(frozen=True)
class WsdlDescription:
    operations: tuple[WsdlOperation, ...]
    endpoints: tuple[str, ...]
    target_namespace: str | None
    warnings: tuple[str, ...] = ()

    def operation(self, name: str) -> WsdlOperation | None:
        return next((op for op in self.operations if op.name == name), None)


def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def _local(qname_text: str) -> str:
    return qname_text.split(":", 1)[-1]


def load(data: bytes) -> etree._Element:
    """Parse WSDL bytes safely; refuse anything that is not ``wsdl:definitions``."""
    try:
        root = parse_xml(data, max_bytes=MAX_WSDL_BYTES, what="WSDL")
    except XmlError as exc:
        raise WsdlError(f"invalid WSDL: {exc}") from None
    if root.tag != _q(WSDL_NS, "definitions"):
        raise WsdlError("invalid WSDL: the root element is not wsdl:definitions")
    return root


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return " ".join("".join(str(t) for t in element.itertext()).split()) or None


def _xrd(parent: etree._Element, local: str) -> etree._Element | None:
    for ns in XROAD_NAMESPACES:
        found = parent.find(_q(ns, local))
        if found is not None:
            return found
    return None


def check_service_code(value: str, what: str = "service code") -> None:
    if not value or _BAD_CODE.search(value) or "/../" in value or value in (".", ".."):
        raise WsdlError(f"invalid WSDL: {what} {value!r} contains characters an X-Road identifier cannot carry")


def parse_wsdl(data: bytes) -> WsdlDescription:
    """Read and validate a provider WSDL; :class:`WsdlError` when X-Road would refuse it."""
    root = load(data)
    warnings: list[str] = []
    messages = {m.get("name") for m in root.iter(_q(WSDL_NS, "message"))}
    port_ops: dict[str, etree._Element] = {}
    for port_type in root.iter(_q(WSDL_NS, "portType")):
        for op in port_type.findall(_q(WSDL_NS, "operation")):
            name = op.get("name") or ""
            port_ops.setdefault(name, op)
            for io in ("input", "output"):
                msg = op.find(_q(WSDL_NS, io))
                if msg is not None and msg.get("message") and _local(msg.get("message", "")) not in messages:
                    raise WsdlError(f"invalid WSDL: operation {name!r} refers to unknown message {msg.get('message')!r}")
    operations: dict[tuple[str, str | None], WsdlOperation] = {}
    for binding in root.iter(_q(WSDL_NS, "binding")):
        if binding.find(_q(SOAP11_NS, "binding")) is None and binding.find(_q(SOAP12_NS, "binding")) is None:
            warnings.append(f"binding {binding.get('name')!r} is not a SOAP binding and is ignored")
            continue
        for op in binding.findall(_q(WSDL_NS, "operation")):
            name = op.get("name") or ""
            check_service_code(name)
            version_el = _xrd(op, "version")
            version = _text(version_el)
            if version is not None:
                check_service_code(version, "service version")
            else:
                warnings.append(f"operation {name!r} has no xrd:version")
            doc_parent = port_ops.get(name)
            if doc_parent is None:
                raise WsdlError(f"invalid WSDL: binding operation {name!r} has no portType operation")
            doc = doc_parent.find(_q(WSDL_NS, "documentation"))
            title = notes = tech = None
            if doc is not None:
                title, notes, tech = (_text(_xrd(doc, k)) for k in ("title", "notes", "techNotes"))
            key = (name, version)
            if key in operations:
                warnings.append(f"operation {name!r} version {version!r} is bound twice")
                continue
            operations[key] = WsdlOperation(name, version, title, notes, tech)
    if not operations:
        raise WsdlError("invalid WSDL: it defines no SOAP operations")
    _check_schemas(root)
    endpoints = []
    for address in list(root.iter(_q(SOAP11_NS, "address"))) + list(root.iter(_q(SOAP12_NS, "address"))):
        location = address.get("location") or ""
        scheme = urllib.parse.urlsplit(location).scheme.lower()
        if scheme not in ("http", "https"):
            raise WsdlError(f"invalid WSDL: service URL {location!r} is not an http or https URL")
        endpoints.append(location)
    return WsdlDescription(tuple(operations.values()), tuple(endpoints), root.get("targetNamespace"), tuple(warnings))


def _check_schemas(root: etree._Element) -> None:
    """Names in embedded schemas must be NCNames; part elements must exist."""
    declared: set[tuple[str | None, str]] = set()
    for schema in root.iter(_q(XSD_NS, "schema")):
        tns = schema.get("targetNamespace")
        for element in schema.iter():
            if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{XSD_NS}}}"):
                continue
            name = element.get("name")
            if name is not None and not _NCNAME.match(name):
                raise WsdlError(f"invalid WSDL: schema declares an invalid name {name!r}")
            if element.tag == _q(XSD_NS, "element") and name and element.getparent() is schema:
                declared.add((tns, name))
    for part in root.iter(_q(WSDL_NS, "part")):
        ref = part.get("element")
        if not ref:
            continue
        prefix, _, local = ref.rpartition(":")
        namespace = part.nsmap.get(prefix or None)
        if namespace in XROAD_NAMESPACES or namespace is None:
            continue
        has_local_schema = any(ns == namespace for ns, _ in declared)
        if has_local_schema and (namespace, local) not in declared:
            raise WsdlError(f"invalid WSDL: message part refers to undeclared element {ref!r}")


# -- rewriting for serving ------------------------------------------------------------


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def rewrite_endpoint(data: bytes, location: str = ENDPOINT_PLACEHOLDER) -> bytes:
    """Every ``soap:address@location`` (SOAP 1.1 and 1.2) set to ``location``."""
    root = load(data)
    for address in list(root.iter(_q(SOAP11_NS, "address"))) + list(root.iter(_q(SOAP12_NS, "address"))):
        address.set("location", location)
    return _serialise(root)


def make_self_contained(data: bytes, base_url: str) -> bytes:
    """Point well-known schema imports/includes at ``{base_url}/schemas/<file>``."""
    root = load(data)
    _rewrite_imports(root.iter(_q(XSD_NS, "import"), _q(XSD_NS, "include")), base_url)
    return _serialise(root)


def _rewrite_imports(elements: Iterable[etree._Element], base_url: str, folder: str = "schemas") -> int:
    """Point well-known imports at ``{base_url}/{folder}/<file>``; how many were pointed."""
    base = f"{base_url.rstrip('/')}/{folder}/"
    pointed = 0
    for element in elements:
        name = None
        if element.tag == _q(XSD_NS, "import"):
            # An import of a well-known namespace always goes to our copy, wherever it pointed:
            # a provider's own location (often an internal backend address) must not leak to
            # clients, and they may not be able to reach it anyway.
            name = NAMESPACE_FILES.get((element.get("namespace") or "").strip())
        location = element.get("schemaLocation")
        if name is None and location:
            name = SCHEMA_FILES.get(location.strip())
        if name is not None:
            element.set("schemaLocation", base + name)
            pointed += 1
    return pointed


def prepare_for_serving(data: bytes, base_url: str) -> bytes:
    """What ``getWsdl`` returns: endpoint hidden and imports self-contained."""
    return make_self_contained(rewrite_endpoint(data), base_url)


SCHEMA_NAMES = ("xroad.xsd", "identifiers.xsd", "representation.xsd", "xml.xsd")


def schema_file(name: str) -> bytes:
    """sild's own copy of a well-known schema, to serve at ``{base}/schemas/{name}``.

    The one set of X-Road schemas in sild: the gateway serves these files as they are,
    and every adapter serves them beside its WSDL (:func:`schema_for`)."""
    if name not in SCHEMA_NAMES:
        raise WsdlError(f"no schema named {name!r}")
    return resources.files("trust.protocol.schemas").joinpath(name).read_bytes()


def schema_for(name: str, base_url: str, *, folder: str = "schemas") -> bytes:
    """Schema ``name`` with its well-known imports pointed at ``{base_url}/{folder}/<file>``.

    For a server whose clients resolve imports against no base URL (an adapter's WSDL
    tools): the relative ``schemaLocation`` of the files becomes absolute. A schema that
    imports nothing is served as shipped, byte for byte."""
    data = schema_file(name)
    root = parse_xml(data, what="schema")
    if not _rewrite_imports(root.iter(_q(XSD_NS, "import"), _q(XSD_NS, "include")), base_url, folder):
        return data
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
