"""The small structural schema that parameter reading checks XML against.

sild does not ship X-Road's XSDs and does not need them at run time: the readers in
:mod:`._read` and :mod:`._read_shared` describe each element as a sequence of
:class:`_F` fields and let :func:`_children` check presence, order and cardinality;
the leaf readers here check the XSD types (integers, booleans, base64, enumerations,
dateTime) and tolerate the quirks real files have (line breaks in base64, base64 of
PEM text, MEMBER identifiers that carry a subsystem code). Keeping these pieces in
one module lets both readers share one notion of "valid" and one error shape,
:class:`ConfSchemaInvalid`.

Untrusted bytes are parsed only through :func:`trust.infra._safexml.parse_xml`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from typing import Sequence

from lxml import etree

from trust.errors import IdentifierError, XmlError
from trust.protocol import IDENTIFIERS_NS, ClientId, MemberId, SubsystemId, client_from_xml
from trust.infra import parse_xml

from ._errors import ConfSchemaInvalid
from ._model import SUPPORTED_VERSIONS, XROAD_NS

_CONF = f"{{{XROAD_NS}}}conf"
MAX_PARAMETERS_BYTES = 64 * 1024 * 1024
_NCNAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_WS = re.compile(rb"\s+")


@dataclass(frozen=True)
class _F:
    name: str
    min: int = 1
    max: int | None = 1  # None: unbounded


def _children(el: etree._Element, spec: Sequence[_F], what: str, *, any_tail: bool = False) -> dict[str, list[etree._Element]]:
    """Check ``el``'s children against a sequence ``spec``; return them by name."""
    found: dict[str, list[etree._Element]] = {f.name: [] for f in spec}
    index = 0
    in_tail = False
    if el.text and el.text.strip():
        raise ConfSchemaInvalid(f"{what}: unexpected text {el.text.strip()[:40]!r}")
    for child in el:
        if child.tail and child.tail.strip():
            raise ConfSchemaInvalid(f"{what}: unexpected text {child.tail.strip()[:40]!r}")
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        qname = etree.QName(child)
        name = qname.localname
        position = index
        while position < len(spec) and spec[position].name != name:
            position += 1
        if in_tail or position == len(spec) or qname.namespace not in (None, XROAD_NS):
            if any_tail and (in_tail or name not in found):
                in_tail = True  # <any processContents="lax"/> at the end of the sequence
                continue
            if name in found:
                raise ConfSchemaInvalid(f"{what}: element <{name}> is out of order")
            raise ConfSchemaInvalid(f"{what}: unexpected element <{name}>")
        index = position
        found[name].append(child)
        limit = spec[position].max
        if limit is not None and len(found[name]) > limit:
            raise ConfSchemaInvalid(f"{what}: element <{name}> appears more than {limit} time(s)")
    for f in spec:
        if len(found[f.name]) < f.min:
            raise ConfSchemaInvalid(f"{what}: required element <{f.name}> is missing")
    return found


def _leaf(el: etree._Element, what: str) -> str:
    for child in el:
        if isinstance(child.tag, str):
            raise ConfSchemaInvalid(f"{what}: <{etree.QName(child).localname}> must hold text only")
    return "".join(str(t) for t in el.itertext())


def _str(el: etree._Element, what: str, *, required: bool = True) -> str:
    value = _leaf(el, what).strip()
    if required and not value:
        raise ConfSchemaInvalid(f"{what} is empty")
    return value


def _opt_str(found: dict[str, list[etree._Element]], name: str, what: str) -> str | None:
    items = found.get(name) or []
    return _str(items[0], f"{what} {name}", required=False) if items else None


def _int(el: etree._Element, what: str) -> int:
    text = _leaf(el, what).strip()
    if not _INTEGER.match(text):
        raise ConfSchemaInvalid(f"{what} must be an integer, got {text[:40]!r}")
    return int(text)


def _bool(el: etree._Element, what: str) -> bool:
    text = _leaf(el, what).strip()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ConfSchemaInvalid(f"{what} must be a boolean, got {text[:40]!r}")


def _b64(el: etree._Element, what: str) -> bytes:
    raw = _WS.sub(b"", _leaf(el, what).encode("ascii", "replace"))
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfSchemaInvalid(f"{what} is not valid base64: {exc}") from exc


def _cert(el: etree._Element, what: str) -> bytes:
    """base64Binary certificate; base64 of PEM text (seen in X-Road's own output) becomes DER."""
    data = _b64(el, what)
    if not data:
        raise ConfSchemaInvalid(f"{what} is empty")
    if data.lstrip().startswith(b"-----BEGIN"):
        lines = [line.strip() for line in data.decode("ascii", "replace").splitlines()]
        body = "".join(line for line in lines if line and not line.startswith("-----"))
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfSchemaInvalid(f"{what} holds PEM text that is not valid base64") from exc
    return data


def _datetime(el: etree._Element, what: str) -> dt.datetime:
    text = _leaf(el, what).strip()
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfSchemaInvalid(f"{what} is not an xs:dateTime: {text[:40]!r}") from exc
    # xs:dateTime without a zone is "local" in XSD; X-Road always writes Z. Read it as UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def _enum(el: etree._Element, what: str, allowed: Sequence[str]) -> str:
    value = _str(el, what)
    if value not in allowed:
        raise ConfSchemaInvalid(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


def _client(el: etree._Element, what: str) -> ClientId:
    try:
        return client_from_xml(el)
    except IdentifierError as exc:
        # X-Road's own files have MEMBER identifiers that carry a subsystemCode; its
        # reader builds a subsystem from the fields, and so does sild.
        fields = {etree.QName(c).localname: (c.text or "").strip() for c in el if isinstance(c.tag, str)}
        object_type = (el.get(f"{{{IDENTIFIERS_NS}}}objectType") or "").strip()
        if object_type == "MEMBER" and set(fields) == {"xRoadInstance", "memberClass", "memberCode", "subsystemCode"}:
            try:
                return SubsystemId(fields["xRoadInstance"], fields["memberClass"], fields["memberCode"], fields["subsystemCode"])
            except IdentifierError:
                pass
        raise ConfSchemaInvalid(f"{what}: {exc}") from exc


def _root(data: bytes, what: str) -> etree._Element:
    try:
        root = parse_xml(data, max_bytes=MAX_PARAMETERS_BYTES, what=what)
    except XmlError as exc:
        raise ConfSchemaInvalid(str(exc)) from exc
    if root.tag != _CONF:
        raise ConfSchemaInvalid(f"{what}: root element must be {{{XROAD_NS}}}conf, got {root.tag}")
    return root


def _check_version(version: int | None) -> None:
    if version is not None and version not in SUPPORTED_VERSIONS:
        raise ConfSchemaInvalid(f"configuration version {version} is not supported (2 to 6 are)")


def _safe_id(*parts: str) -> bool:
    try:
        MemberId(*parts)
    except IdentifierError:
        return False
    return True




def _v(version: int | None, minimum: int) -> bool:
    return version is None or version >= minimum
