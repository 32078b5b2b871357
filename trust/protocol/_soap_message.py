"""What reading a SOAP message gives: the message, a SOAP Fault, their attachments.

Frozen values, kept apart from the reader (:mod:`._soap`) so that code which only
carries or builds messages (the proxy-message encoder, the request builder) names
them without the parsing code. ``soap_bytes`` are always the exact bytes received:
``requestHash``, the signature and the message log cover them (NOTES 2, 7, 9.1).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from lxml import etree

from trust.protocol import _faults as faults
from ._faults import XRoadFault
from .mime import PartHeaders
from .mime import PartBody
from ._namespaces import SOAP_ENV_NS
from ._soap_header import XRoadHeader

XOP_NS = "http://www.w3.org/2004/08/xop/include"


@dataclass(frozen=True, eq=False)
class Attachment:
    """One MIME attachment, its header lines as received and its spooled bytes."""

    headers: PartHeaders
    body: PartBody

    @property
    def content_type(self) -> str | None:
        return self.headers.content_type

    @property
    def content_id(self) -> str | None:
        return self.headers.content_id

    def read(self) -> bytes:
        return self.body.read()


@dataclass(frozen=True, eq=False)
class SoapMessage:
    """A parsed X-Road SOAP message. ``soap_bytes`` are the exact SOAP part bytes."""

    soap_bytes: bytes
    content_type: str
    soap_content_type: str
    charset: str
    header: XRoadHeader
    body_name: etree.QName
    envelope: etree._Element = field(repr=False)
    attachments: tuple[Attachment, ...] = ()
    multipart: bool = False
    mtom: bool = False
    rpc: bool = False
    soap_part_headers: tuple[tuple[str, str], ...] = ()  # MIME headers of the SOAP part, as received

    @property
    def has_attachments(self) -> bool:
        return bool(self.attachments)

    def attachment(self, reference: str) -> Attachment | None:
        """The attachment a swaRef / ``xop:Include@href`` names (``cid:...``), or ``None``."""
        wanted = reference[4:] if reference.lower().startswith("cid:") else reference
        wanted = urllib.parse.unquote(wanted.strip().strip("<>"))
        return next((a for a in self.attachments if a.content_id == wanted), None)

    def attachment_references(self) -> list[str]:
        """``cid:`` references in the body: swaRef text values and ``xop:Include@href``."""
        body = self.envelope.find(f"{{{SOAP_ENV_NS}}}Body")
        refs: list[str] = []
        if body is None:
            return refs
        for element in body.iter():
            if element.tag == f"{{{XOP_NS}}}Include" and element.get("href"):
                refs.append(element.get("href", ""))
            elif isinstance(element.tag, str) and element.text and element.text.strip().lower().startswith("cid:"):
                refs.append(element.text.strip())
        return refs


@dataclass(frozen=True, eq=False)
class SoapFaultMessage:
    """A SOAP 1.1 Fault (from a provider, a peer gateway, or an IS that sent one)."""

    soap_bytes: bytes
    content_type: str
    faultcode: str
    faultstring: str
    faultactor: str | None
    detail: str | None
    envelope: etree._Element = field(repr=False)
    attachments: tuple[Attachment, ...] = ()

    def as_client_fault(self) -> XRoadFault:
        """What X-Road's client proxy makes of a Fault an IS posts as its request:
        ``client.`` plus the fault's code in snake_case (``CODE`` -> ``client.code``)."""
        return XRoadFault(faults.with_origin(self.faultcode, faults.CLIENT), self.faultstring)
