"""Which messages the log keeps whole, and what it keeps of the others (X-Road's message-body logging).

X-Road's ``message-body-logging`` (on by default) decides whether the log holds the
message as signed or only its X-Road headers; operators turn it off where the data
must not sit in a second place, and turn it back on for chosen subsystems (or off
for chosen ones while it is on) with per-subsystem overrides. The decision is per
message and follows the *service provider*: on the server side (this gateway hosts
the provider) the provider subsystem's own setting (kept with the client in the
server configuration); on the client side the list of remote providers whose
logging is the opposite of the gateway's setting (X-Road's ``*-remote-producer-
subsystems``). A subsystem of this gateway keeps its own setting on both sides, so a
local call logged twice is logged alike.

What stays of a message whose body is not logged is what X-Road keeps: a SOAP
envelope with the X-Road headers of PR-MESS 2.2 (and ``representedParty``) and a
body holding only an empty element named as the original's first; a REST message's
header part without its body; no attachments. The signature and its timestamp are
still stored, but the container exported from such a record cannot be verified
(its ``message.xml`` is not the signed one): X-Road says the same of its
"metadata logging" - evidence needs full logging.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

from lxml import etree

from trust.errors import XmlError
from trust.infra import parse_xml
from trust.protocol import REPRESENTATION_NS, SOAP12_ENV_NS, SOAP_ENV_NS, XROAD_NS, ClientId

from ._records import LogEntry

# the X-Road message headers a body-less record keeps (PR-MESS 2.2 and the representation extension);
# the security-server targeting and security-token extensions are left out, as in X-Road
KEPT_HEADERS = frozenset(
    [f"{{{XROAD_NS}}}{name}" for name in
     ("client", "service", "centralService", "id", "userId", "requestHash", "issue", "protocolVersion")]
    + [f"{{{REPRESENTATION_NS}}}representedParty"]
)
# a SOAP message that reached the log was accepted by the proxy; this only bounds the parser
_MAX_LOGGED_XML = 512 * 1024 * 1024


@dataclass(frozen=True)
class BodyLogging:
    """The gateway's body-logging rule: the global switch and the per-subsystem overrides.

    ``local`` answers a provider's own setting (``None`` = none); the node hands in a
    lookup in the current server-configuration snapshot, so a change made by the CLI
    or the admin API reaches the next message without a restart.
    """

    enabled: bool = True
    local: Callable[[ClientId], bool | None] = lambda _client: None
    remote_overrides: frozenset[ClientId] = frozenset()

    def __call__(self, entry: LogEntry) -> bool:
        provider = entry.service.provider
        own = self.local(provider)
        if own is not None:
            return own
        if entry.side == "client" and provider in self.remote_overrides:
            return not self.enabled
        return self.enabled


def headers_only(entry: LogEntry) -> bytes:
    """What the log keeps of ``entry``'s message when its body is not logged."""
    if entry.kind != "SOAP":
        return entry.message  # REST: the header part; the body is a column of its own, left empty
    try:
        root = parse_xml(entry.message, max_bytes=_MAX_LOGGED_XML, what="logged SOAP message")
    except XmlError:
        return b""  # the proxy parsed it before; should it not parse now, nothing of it is kept
    ns = etree.QName(root).namespace
    if ns not in (SOAP_ENV_NS, SOAP12_ENV_NS) or etree.QName(root).localname != "Envelope":
        return b""
    envelope = etree.Element(root.tag, nsmap=root.nsmap)  # type: ignore[arg-type]  # lxml allows a default (None) prefix
    header = root.find(f"{{{ns}}}Header")
    if header is not None:
        kept = etree.SubElement(envelope, header.tag)
        for child in header:
            if isinstance(child.tag, str) and child.tag in KEPT_HEADERS:
                kept.append(copy.deepcopy(child))
    body = etree.SubElement(envelope, f"{{{ns}}}Body")
    original = root.find(f"{{{ns}}}Body")
    first = next((c for c in original if isinstance(c.tag, str)), None) if original is not None else None
    if first is not None:
        etree.SubElement(body, first.tag, nsmap=first.nsmap)  # type: ignore[arg-type]
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))
