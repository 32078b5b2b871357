"""The purpose a client declares for a request: sild's one addition to X-Road's wire.

A provider may bind an access right to purposes (issue 20, part 2); the client then says
why it asks, inside what its gateway signs, so the provider's gateway, its message log
and the evidence export all hold the same, signed, statement:

* SOAP: one header element ``<sild:purpose xmlns:sild="http://sild.eu/xsd/sild.xsd">CODE
  </sild:purpose>`` in the SOAP ``Header``. The SOAP part is signed whole (its exact
  bytes are a data object of the XAdES signature), so the element is covered as every
  X-Road header field is. X-Road's header reader (:func:`._soap_header.header_fields`)
  skips elements of other namespaces, and so does X-Road's own; no ``mustUnderstand``.
* REST: an ``X-Sild-Purpose`` request header. The consumer gateway writes the IS's
  headers (filtered of hop-by-hop ones only) into the REST request header part, and
  that part's exact bytes are signed; so is the purpose.

Without a declaration nothing changes: an X-Road peer never sends one and never needs one.
A code is short and plain (:data:`PURPOSE_PATTERN`); anything else, or two declarations,
is ``invalid_request`` before anything is signed or logged, so a log record never holds a
purpose the access rules could not have read.
"""

from __future__ import annotations

import re
from typing import Sequence

from lxml import etree

from trust.protocol import _faults as faults
from ._faults import XRoadFault
from ._namespaces import SILD_NS, SOAP_ENV_NS

H_PURPOSE = "X-Sild-Purpose"
PURPOSE_TAG = f"{{{SILD_NS}}}purpose"
MAX_PURPOSE_CHARS = 64
PURPOSE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
"""A purpose code: a letter or digit, then letters, digits, ``.``, ``_``, ``:``, ``-``; at most
64 characters. Data owners name them (``tax-assessment``); one word travels in a header."""


def check_purpose(code: str) -> str:
    """``code`` if it is a well-formed purpose code; ``ValueError`` naming the rule otherwise."""
    if not PURPOSE_PATTERN.fullmatch(code):
        raise ValueError(f"purpose code {code[:70]!r} is not 1 to {MAX_PURPOSE_CHARS} letters, digits, "
                         "'.', '_', ':' or '-' starting with a letter or digit")
    return code


def _declared(text: str) -> str:
    try:
        return check_purpose(text.strip())
    except ValueError as exc:
        raise XRoadFault(faults.INVALID_REQUEST, f"declared purpose: {exc}") from None


def soap_purpose(envelope: etree._Element) -> str | None:
    """The purpose a SOAP request declares in its ``Header`` (``sild:purpose``), or ``None``."""
    header = envelope.find(f"{{{SOAP_ENV_NS}}}Header")
    if header is None:
        return None
    found = [child for child in header if child.tag == PURPOSE_TAG]
    if not found:
        return None
    if len(found) > 1:
        raise XRoadFault(faults.INVALID_REQUEST, "the SOAP header declares more than one sild:purpose")
    return _declared("".join(str(t) for t in found[0].itertext()))


def rest_purpose(headers: Sequence[tuple[str, str]]) -> str | None:
    """The purpose a REST request declares in ``X-Sild-Purpose``, or ``None``."""
    values = [v for k, v in headers if k.lower() == H_PURPOSE.lower()]
    if not values:
        return None
    if len(values) > 1:
        raise XRoadFault(faults.INVALID_REQUEST, f"the request carries more than one {H_PURPOSE} header")
    return _declared(values[0])
