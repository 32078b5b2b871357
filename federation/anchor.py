"""Configuration anchors: the one file a gateway (or a federation partner) must get
out of band.

An anchor names an instance, where its signed configuration directory can be
downloaded (one ``source`` per authority node and scheme) and which certificates
may sign it. X-Road's format (NOTES section 6)::

    <ns3:configurationAnchor xmlns:ns3="http://x-road.eu/xsd/xroad.xsd">
      <generatedAt>2025-11-05T22:10:45.770Z</generatedAt>
      <instanceIdentifier>DEV</instanceIdentifier>
      <source><downloadURL>https://cs/internalconf</downloadURL>
              <verificationCert>MIIC...</verificationCert></source>
    </ns3:configurationAnchor>

The root is qualified, its children are not; ``verificationCert`` is base64 DER, may
repeat, and is used only as a public-key holder (no validity period check).

**Fingerprint.** Operators compare anchors out of band by their SHA-224 digest. X-Road
computes it over the *exact bytes of the anchor file* (not over a re-serialisation,
not over the XML content) and shows it as upper-case hex in colon-separated pairs
(``92:62:34:C5:...``, 28 pairs); its audit log names the algorithm ``SHA-224``.
:func:`anchor_fingerprint` gives exactly that string; :func:`check_fingerprint`
accepts what an operator types (any case, with or without colons or spaces). Since
the digest covers the file bytes, an anchor must be distributed as the file the
authority produced: re-indenting it changes the fingerprint.

Use::

    data = write_anchor(ConfigurationAnchor("EE", (AnchorSource("https://cs/internalconf", (cert_der,)),),
                                            generated_at=now))
    fingerprint = anchor_fingerprint(data)          # show this to operators
    anchor = parse_anchor(data)                      # ConfigurationAnchor
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from trust.errors import XmlError
from trust.infra import parse_xml

from federation.model import XROAD_NS, AnchorSource, ConfigurationAnchor, SharedParameters
from federation.model import AnchorInvalid, ConfSchemaInvalid
from federation.model import anchor_element, parse_anchor_element

ANCHOR_TAG = f"{{{XROAD_NS}}}configurationAnchor"
MAX_ANCHOR_BYTES = 1024 * 1024
FINGERPRINT_ALGORITHM = "SHA-224"
_HEX = re.compile(r"^[0-9a-f]{56}$")


@dataclass(frozen=True)
class AnchorFile:
    """An anchor together with the exact bytes it was read from."""

    anchor: ConfigurationAnchor
    raw: bytes

    @property
    def fingerprint(self) -> str:
        return anchor_fingerprint(self.raw)


def anchor_fingerprint(data: bytes) -> str:
    """SHA-224 of the anchor file bytes, as X-Road shows it: ``AB:CD:...`` (upper case)."""
    digest = hashlib.sha224(bytes(data)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _normalise_fingerprint(text: str) -> str:
    return re.sub(r"[\s:]", "", text).lower()


def check_fingerprint(data: bytes, expected: str) -> None:
    """Raise :class:`AnchorInvalid` unless the anchor bytes have the expected fingerprint."""
    wanted = _normalise_fingerprint(expected)
    if not _HEX.match(wanted):
        raise AnchorInvalid(f"{expected!r} is not a SHA-224 fingerprint (56 hex digits)")
    actual = _normalise_fingerprint(anchor_fingerprint(data))
    if actual != wanted:
        raise AnchorInvalid(f"anchor fingerprint is {anchor_fingerprint(data)}, expected {expected}")


def parse_anchor(data: bytes) -> ConfigurationAnchor:
    """Read an anchor file; :class:`AnchorInvalid` with the reason when it is not one."""
    try:
        root = parse_xml(data, max_bytes=MAX_ANCHOR_BYTES, what="configuration anchor")
    except XmlError as exc:
        raise AnchorInvalid(str(exc)) from exc
    if root.tag != ANCHOR_TAG:
        raise AnchorInvalid(f"root element must be {ANCHOR_TAG}, got {root.tag}")
    try:
        return parse_anchor_element(root, "configuration anchor")
    except ConfSchemaInvalid as exc:
        raise AnchorInvalid(str(exc)) from exc


def load_anchor(path: Path | str) -> AnchorFile:
    """Read an anchor file from disk, keeping its bytes for the fingerprint."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise AnchorInvalid(f"cannot read anchor {path}: {exc.strerror or exc}") from exc
    return AnchorFile(parse_anchor(raw), raw)


def write_anchor(anchor: ConfigurationAnchor) -> bytes:
    """Serialise an anchor the way X-Road's central server does (UTF-8, standalone)."""
    root = anchor_element(anchor, ANCHOR_TAG)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True, pretty_print=True)


def anchor_from_shared_parameters(
    shared: SharedParameters,
    *,
    internal: bool,
    generated_at: dt.datetime,
    schemes: tuple[str, ...] = ("https", "http"),
) -> ConfigurationAnchor:
    """The anchor an authority hands out: one source per node address and scheme.

    ``internal=True`` gives the anchor for the instance's own gateways
    (``/internalconf``, internal signing certificates); ``False`` the one for
    federation partners (``/externalconf``, external certificates).
    """
    sources = []
    for source in shared.sources:
        certs = source.internal_certs if internal else source.external_certs
        if not certs:
            continue
        for scheme in schemes:
            url = source.internal_url(scheme) if internal else source.external_url(scheme)
            sources.append(AnchorSource(url, tuple(certs)))
    if not sources:
        raise AnchorInvalid(f"shared parameters of {shared.instance} list no {'internal' if internal else 'external'} signing certificate")
    return ConfigurationAnchor(shared.instance, tuple(sources), generated_at=generated_at)
