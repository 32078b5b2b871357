"""The one exception tree of sild.

Every error sild raises on purpose derives from :class:`SildError`. Each package has
one branch (``TrustError``, ``FederationError``, ``GatewayError``, ``AdapterError``)
and every leaf carries a stable dotted ``code`` that logs, CLIs and protocol edges
can rely on; messages may change, codes may not. Third-party exceptions are
translated at the boundary with ``raise ... from exc`` so the cause stays visible
in logs but never leaks to a peer.

The root lives in ``trust`` because ``trust`` is the innermost layer: every other
package may import it, it imports none of them.
"""

from __future__ import annotations

from typing import ClassVar


class SildError(Exception):
    """Root of every error sild raises on purpose."""

    code: ClassVar[str] = "sild.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            # a per-instance code, for errors whose code is data (X-Road fault codes)
            self.code = code  # type: ignore[misc]

    def __str__(self) -> str:
        return self.message


class TrustError(SildError):
    """Branch for everything in ``trust``: identifiers, XML, keys, PKI, evidence."""

    code = "trust.error"


class ProtocolError(SildError):
    """Branch for X-Road's protocol vocabulary (``trust.protocol``): faults, SOAP, MIME, descriptions."""

    code = "protocol.error"


class IdentifierError(TrustError):
    """An identifier (text, XML or constructor input) is not well formed."""

    code = "trust.identifier.invalid"


class XmlError(TrustError):
    """Untrusted XML was refused by the safe parser."""

    code = "trust.xml.invalid"


class XmlTooLarge(XmlError):
    code = "trust.xml.too_large"


class XmlTooDeep(XmlError):
    code = "trust.xml.too_deep"


class XmlForbiddenConstruct(XmlError):
    """A DTD, entity declaration or processing trick that sild never accepts."""

    code = "trust.xml.forbidden_construct"


class XmlSchemaError(XmlError):
    """Well-formed XML that does not validate against its schema."""

    code = "trust.xml.schema_invalid"


class KeyError_(TrustError):
    """Base for key store problems (named with a trailing underscore: ``KeyError`` is a builtin)."""

    code = "trust.key.error"


class KeyNotFound(KeyError_):
    code = "trust.key.not_found"


class WrongPin(KeyError_):
    code = "trust.key.wrong_pin"


class UnsupportedAlgorithm(TrustError):
    code = "trust.algorithm.unsupported"
