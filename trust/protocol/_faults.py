"""X-Road error codes as data, the :class:`XRoadFault` exception, and its renderings.

X-Road reports every failure at a protocol edge as a dotted code whose first parts
say *where* it happened:

* ``client.``               bad input from the information system (IS);
* ``server.clientproxy.``   the consumer's gateway failed;
* ``server.serverproxy.``   the provider's gateway failed;
* ``signer.``               the signing service failed.

When a gateway fails while handling what the *far* side sent (the provider IS answer,
the peer gateway's reply), X-Road inserts ``service_failed``:
``server.serverproxy.service_failed.invalid_content_type``.

X-Road 7.8 renamed every code from CamelCase (``Server.ClientProxy.AccessDenied``) to
snake_case (``server.clientproxy.access_denied``). sild emits snake_case and reads
both (:func:`normalize_code`), because older peers and every document still use the
old style.

A fault is rendered as a SOAP 1.1 fault whose ``faultcode`` is the plain dotted text
(*not* a QName) and whose ``detail/faultDetail`` is a correlation id, or as a REST
error (status 500 for ``server.*``, else 400; header ``X-Road-Error``; JSON
``{type, message, detail}`` or XML when the client asks for it). Nothing internal
reaches a peer: callers give a human message written for the peer; unexpected
exceptions become :func:`internal_fault`, whose message only names the correlation
id under which the gateway logged the details.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping
from xml.sax.saxutils import escape

from trust.errors import ProtocolError, SildError
from ._namespaces import SOAP_ENV_NS

# -- origins -------------------------------------------------------------------------

CLIENT = "client"
SERVER_CLIENTPROXY = "server.clientproxy"
SERVER_SERVERPROXY = "server.serverproxy"
SIGNER = "signer"
ORIGINS: tuple[str, ...] = (SERVER_CLIENTPROXY, SERVER_SERVERPROXY, CLIENT, SIGNER)
SERVICE_FAILED = "service_failed"

# -- leaf codes (7.8 snake_case) ----------------------------------------------------

ACCESS_DENIED = "access_denied"
CANNOT_CREATE_SIGNATURE = "cannot_create_signature"
CERT_VALIDATION = "cert_validation"
CODE = "code"
DUPLICATE_HEADER_FIELD = "duplicate_header_field"
GLOBAL_CONF_OUTDATED = "global_conf_outdated"
HTTP_ERROR = "http_error"
INCONSISTENT_HEADERS = "inconsistent_headers"
INCONSISTENT_RESPONSE = "inconsistent_response"
INCORRECT_CERTIFICATE = "incorrect_certificate"
INTERNAL_ERROR = "internal_error"
INVALID_BODY = "invalid_body"
INVALID_CLIENT_IDENTIFIER = "invalid_client_identifier"
INVALID_CONTENT_TYPE = "invalid_content_type"
INVALID_HTTP_METHOD = "invalid_http_method"
INVALID_MESSAGE = "invalid_message"
INVALID_PROTOCOL_VERSION = "invalid_protocol_version"
INVALID_REQUEST = "invalid_request"
INVALID_SECURITY_SERVER = "invalid_security_server"
INVALID_SERVICE_IDENTIFIER = "invalid_service_identifier"
INVALID_SIGNATURE_VALUE = "invalid_signature_value"
INVALID_SOAP = "invalid_soap"
INVALID_SOAP_ACTION = "invalid_soap_action"
INVALID_XML = "invalid_xml"
IO_ERROR = "io_error"
MAINTENANCE_MODE = "maintenance_mode"
MALFORMED_SIGNATURE = "malformed_signature"
MISSING_BODY = "missing_body"
MISSING_HEADER = "missing_header"
MISSING_HEADER_FIELD = "missing_header_field"
MISSING_REST = "missing_rest"
MISSING_SIGNATURE = "missing_signature"
MISSING_SOAP = "missing_soap"
NETWORK_ERROR = "network_error"
SERVICE_DISABLED = "service_disabled"
SERVICE_TYPE = "service_type"
SSL_AUTHENTICATION_FAILED = "ssl_authentication_failed"
TIMESTAMP_VALIDATION = "timestamp_validation"
UNKNOWN_HOST = "unknown_host"
UNKNOWN_MEMBER = "unknown_member"
UNKNOWN_SERVICE = "unknown_service"
UNSUPPORTED_PROXY_VERSION = "unsupported_proxy_version"

KNOWN_LEAVES: frozenset[str] = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str) and "." not in value
    and name not in {"CLIENT", "SIGNER", "SERVICE_FAILED"}
)

_CAMEL_BOUNDARY_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_BOUNDARY_2 = re.compile(r"([a-z0-9])([A-Z])")


# -- sild errors at a protocol edge ----------------------------------------------------

# sild error code (the dotted ``code`` of a SildError subclass) -> X-Road leaf code. One
# table instead of isinstance ladders at each edge; an error whose own code is not here
# is looked up by its base classes' codes (see fault_leaf).
ERROR_FAULTS: Mapping[str, str] = MappingProxyType({
    # XAdES signature of a message (trust.xades)
    "trust.signature.malformed": MALFORMED_SIGNATURE,
    "trust.signature.missing_reference": INVALID_SIGNATURE_VALUE,
    "trust.signature.digest_mismatch": INVALID_SIGNATURE_VALUE,
    "trust.signature.bad_value": INVALID_SIGNATURE_VALUE,
    "trust.signature.signer_mismatch": INCORRECT_CERTIFICATE,
    "trust.signature.certificate_usage": INCORRECT_CERTIFICATE,
    "trust.signature.untrusted_chain": CERT_VALIDATION,
    "trust.signature.ocsp_missing": CERT_VALIDATION,
    "trust.signature.ocsp_invalid": CERT_VALIDATION,
    "trust.signature.revoked": CERT_VALIDATION,
    "trust.signature.ocsp_stale": CERT_VALIDATION,
})


def fault_leaf(error: SildError, default: str) -> str:
    """The X-Road leaf code of ``error`` by :data:`ERROR_FAULTS`: its own code first, then
    the codes of its classes from the most to the least specific; ``default`` if none is there."""
    return next((ERROR_FAULTS[code] for code in error.codes() if code in ERROR_FAULTS), default)


def fault_for(error: SildError, prefix: str, *, default: str) -> "XRoadFault":
    """``error`` as the X-Road fault a peer sees: the leaf code of :func:`fault_leaf` (no
    origin; the edge adds it) and the message ``"{prefix}: {error}"``."""
    return XRoadFault(fault_leaf(error, default), f"{prefix}: {error}")


# -- code arithmetic ----------------------------------------------------------------


def normalize_code(code: str) -> str:
    """Return ``code`` in 7.8 snake_case; accepts both styles and any case.

    ``Server.ClientProxy.AccessDenied`` -> ``server.clientproxy.access_denied``;
    ``Server.ClientProxy.ServiceFailed.IOError`` -> ``...service_failed.io_error``.
    The origin parts ``ClientProxy``/``ServerProxy`` are single words in X-Road.
    """
    parts = []
    for part in code.strip().split("."):
        lowered = part.lower()
        if lowered in ("clientproxy", "serverproxy"):
            parts.append(lowered)
            continue
        snake = _CAMEL_BOUNDARY_1.sub(r"\1_\2", part)
        snake = _CAMEL_BOUNDARY_2.sub(r"\1_\2", snake)
        parts.append(snake.lower())
    return ".".join(parts)


def codes_equal(a: str, b: str) -> bool:
    """True when two codes are the same code, whatever their style."""
    return normalize_code(a) == normalize_code(b)


def split_code(code: str) -> tuple[str | None, bool, str]:
    """Split a (normalised) code into ``(origin, service_failed, leaf)``.

    ``server.serverproxy.service_failed.unknown_host`` ->
    ``("server.serverproxy", True, "unknown_host")``; a code without an origin
    (parser level, as X-Road's unit tests see it) has origin ``None``.
    """
    code = normalize_code(code)
    origin = None
    for candidate in ORIGINS:
        if code == candidate or code.startswith(candidate + "."):
            origin = candidate
            code = code[len(candidate) + 1 :]
            break
    failed = False
    if code == SERVICE_FAILED or code.startswith(SERVICE_FAILED + "."):
        failed = True
        code = code[len(SERVICE_FAILED) + 1 :]
    return origin, failed, code


def with_origin(code: str, origin: str, *, service_failed: bool = False) -> str:
    """Put ``code`` under ``origin``: a parser-level ``missing_header_field`` becomes
    ``client.missing_header_field``; with ``service_failed`` it becomes e.g.
    ``server.serverproxy.service_failed.missing_header_field``.

    A code that already has an origin keeps it (a fault relayed from the provider's
    gateway is reported with the provider's origin, as X-Road does)."""
    if origin not in ORIGINS:
        raise ValueError(f"unknown fault origin {origin!r}")
    current, failed, leaf = split_code(code)
    if current is not None:
        return normalize_code(code)
    middle = f"{SERVICE_FAILED}." if (service_failed or failed) else ""
    return f"{origin}.{middle}{leaf}"


def http_status_for(code: str) -> int:
    """REST status of an error: 500 for ``server.*`` codes, 400 otherwise."""
    return 500 if normalize_code(code).startswith("server.") else 400


# -- the exception ------------------------------------------------------------------


class XRoadFault(ProtocolError):
    """An X-Road fault: a code, a message for the peer, and a correlation id.

    ``code`` is normalised to snake_case. ``correlation_id`` ties the fault a peer
    sees to the gateway's log entry; pass one for reproducible output, else a random
    UUID is drawn. ``actor`` is the SOAP ``faultactor`` (usually empty).
    """

    code = "gateway.xroad_fault"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        correlation_id: str | None = None,
        actor: str = "",
    ) -> None:
        normalised = normalize_code(code)
        if not normalised or any(not part for part in normalised.split(".")):
            raise ValueError(f"malformed X-Road fault code {code!r}")
        super().__init__(message, code=normalised)
        self.fault_code = normalised
        self.correlation_id = correlation_id if correlation_id is not None else str(uuid.uuid4())
        self.actor = actor

    def __repr__(self) -> str:
        return f"XRoadFault({self.fault_code!r}, {self.message!r}, correlation_id={self.correlation_id!r})"

    @property
    def origin(self) -> str | None:
        return split_code(self.fault_code)[0]

    @property
    def leaf(self) -> str:
        return split_code(self.fault_code)[2]

    def is_code(self, code: str) -> bool:
        return codes_equal(self.fault_code, code)

    def at(self, origin: str, *, service_failed: bool = False) -> "XRoadFault":
        """The same fault reported from ``origin`` (see :func:`with_origin`)."""
        return XRoadFault(
            with_origin(self.fault_code, origin, service_failed=service_failed),
            self.message,
            correlation_id=self.correlation_id,
            actor=self.actor,
        )

    def service_failed(self, origin: str) -> "XRoadFault":
        """Translate a failure in what the far side sent into ``origin.service_failed.leaf``.

        Unlike :meth:`at`, an origin the code already carries is replaced: the client
        proxy that cannot read the server proxy's reply reports
        ``server.clientproxy.service_failed.<leaf>``."""
        _, _, leaf = split_code(self.fault_code)
        return XRoadFault(
            f"{origin}.{SERVICE_FAILED}.{leaf}", self.message, correlation_id=self.correlation_id, actor=self.actor
        )

    @property
    def http_status(self) -> int:
        return http_status_for(self.fault_code)

    def to_soap(self) -> bytes:
        return soap_fault_bytes(self.fault_code, self.message, actor=self.actor, detail=self.correlation_id)

    def to_rest(self, accept: str | None = None) -> "RestError":
        return rest_error(self, accept)


def internal_fault(origin: str, *, correlation_id: str | None = None) -> XRoadFault:
    """The fault for an unexpected exception: names only the correlation id, so no
    stack trace, path or backend host name ever reaches a peer."""
    fault = XRoadFault(f"{origin}.{INTERNAL_ERROR}", "internal error", correlation_id=correlation_id)
    fault.message = f"internal error; the gateway logged it under {fault.correlation_id}"
    fault.args = (fault.message,)
    return fault


# -- renderings -----------------------------------------------------------------------


def soap_fault_bytes(code: str, message: str, *, actor: str = "", detail: str = "") -> bytes:
    """A SOAP 1.1 fault envelope, UTF-8, with ``faultcode`` as plain dotted text."""
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV_NS}"><SOAP-ENV:Body><SOAP-ENV:Fault>'
        f"<faultcode>{escape(code)}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring>"
        f"<faultactor>{escape(actor)}</faultactor>"
        f'<detail><faultDetail xmlns="">{escape(detail)}</faultDetail></detail>'
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    return text.encode("utf-8")


@dataclass(frozen=True)
class RestError:
    """A rendered REST error: status, headers and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def content_type(self) -> str:
        return dict(self.headers)["Content-Type"]


def wants_xml(accept: str | None) -> bool:
    """True when an ``Accept`` header prefers XML over JSON (q-values honoured)."""
    if not accept:
        return False
    best_xml = best_json = -1.0
    for item in accept.split(","):
        fields = [f.strip() for f in item.split(";")]
        media = fields[0].lower()
        q = 1.0
        for param in fields[1:]:
            if param.lower().startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media in ("application/xml", "text/xml") or media.endswith("+xml"):
            best_xml = max(best_xml, q)
        elif media in ("application/json", "*/*", "application/*") or media.endswith("+json"):
            best_json = max(best_json, q)
    return best_xml > 0 and best_xml > best_json


def rest_error(fault: XRoadFault, accept: str | None = None) -> RestError:
    """Render ``fault`` as X-Road's REST error (JSON, or XML when ``accept`` asks)."""
    if wants_xml(accept):
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<error><type>{escape(fault.fault_code)}</type><message>{escape(fault.message)}</message>"
            f"<detail>{escape(fault.correlation_id)}</detail></error>"
        ).encode("utf-8")
        content_type = "application/xml; charset=utf-8"
    else:
        body = json.dumps(
            {"type": fault.fault_code, "message": fault.message, "detail": fault.correlation_id}
        ).encode("utf-8")
        content_type = "application/json; charset=utf-8"
    return RestError(
        status=fault.http_status,
        headers=(("Content-Type", content_type), ("X-Road-Error", fault.fault_code)),
        body=body,
    )


def fault_from_rest(status: int, headers: Mapping[str, str], body: bytes) -> XRoadFault | None:
    """Read a REST error a peer sent back; ``None`` when there is no ``X-Road-Error``
    header (then the provider IS itself answered with an error, which passes on)."""
    code = next((v for k, v in headers.items() if k.lower() == "x-road-error"), None)
    if not code:
        return None
    message, detail = "", None
    try:
        data = json.loads(body.decode("utf-8")) if body else {}
        if isinstance(data, dict):
            message = str(data.get("message") or "")
            detail = data.get("detail")
    except (ValueError, UnicodeDecodeError):
        pass
    return XRoadFault(code, message, correlation_id=str(detail) if detail else None)
