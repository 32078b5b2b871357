"""Gateway registration requests: built by a gateway owner, verified by the authority.

X-Road registers a security server's authentication certificate with ``authCertReg``
(a multipart POST signed by the owner and by the auth key). sild keeps the same
proof, in JSON with *detached* signatures over exact bytes (DESIGN 3: no published
X-Road protocol fits a management API over HTTPS)::

    {
      "payload": "<base64 of the payload bytes>",
      "ownerSignature": {"algorithm": "<W3C URI>", "certificate": "<b64 DER sign cert>",
                         "ocspResponse": "<b64 DER OCSP response for the sign cert>",
                         "value": "<b64 signature>"},
      "authSignature":  {"algorithm": "<W3C URI>", "ocspResponse": "<b64 DER OCSP response for the auth cert>",
                         "value": "<b64 signature>"}
    }

The payload is UTF-8 JSON::

    {"type": "authCertReg", "instance": "EE", "server": "EE/GOV/70000001/ss1",
     "address": "ss1.example.ee", "authCertificate": "<b64 DER>",
     "clients": ["EE/GOV/70000001/tax"], "createdAt": "2026-11-27T09:00:00Z", "nonce": "<hex>"}

Both signatures cover the payload bytes exactly as carried in base64 (no JSON
canonicalisation, so nothing can be re-serialised differently). Signature values are
PKCS#1 v1.5 (RSA) or DER (ECDSA) over the digest of the algorithm. The authority
checks, in order: the document and payload are well-formed -> the payload is for this
instance and recent -> the owner signature verifies with the sign certificate, which
is valid now, chains to an approved CA, has the signing key usage, has a fresh
``good`` OCSP response from that CA's responder (:func:`trust.pki._pathvalidation.validate_certificate`)
and maps to the owner member under that CA's certificate profile -> the auth signature
verifies with the auth certificate (proof of possession of the auth key), which passes
the same validation for the *auth* purpose. As in X-Road's ``authCertReg``, the
gateway sends the OCSP responses it already holds for its certificates.

A gateway builds the document with :func:`build_registration_request` and sends it
with :func:`submit_registration_request`; the authority's operator then approves or
declines it (management API or ``sild central registration approve|decline``).

The same document, with another payload ``type``, carries X-Road's management
requests of a registered gateway (``clientReg``, ``clientDeletion``, ``ownerChange``,
``addressChange``); :func:`verify_registration_request` checks them along the same
path and leaves the rules of each type to :mod:`federation.central._management`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.pki import TrustPolicy
from trust.xades import signer_matches
from trust.errors import IdentifierError, SildError
from trust.protocol import ClientId, MemberId, SecurityServerId, parse_client, parse_server
from trust.keys import Signer, verify_digest
from trust.pki import validate_certificate
from trust.pki import CertificateError, read_certificate

from federation.errors import FederationError

REQUEST_TYPE = "authCertReg"
MAX_REQUEST_BYTES = 256 * 1024
MAX_AGE = dt.timedelta(hours=1)
CLOCK_SKEW = dt.timedelta(minutes=5)


class RegistrationError(FederationError):
    code = "federation.registration.error"
    http_status = 400
    relayed_status: int | None = None  # the authority's own HTTP status when it refused: a relay passes it on


class RegistrationMalformed(RegistrationError):
    code = "federation.registration.malformed"


class RegistrationBadSignature(RegistrationError):
    code = "federation.registration.bad_signature"


class RegistrationUntrustedCert(RegistrationError):
    """The sign or auth certificate does not chain to an approved CA of this instance."""

    code = "federation.registration.untrusted_certificate"


class RegistrationWrongOwner(RegistrationError):
    """The sign certificate does not belong to the gateway's owner member."""

    code = "federation.registration.wrong_owner"


class RegistrationStale(RegistrationError):
    code = "federation.registration.stale"


@dataclass(frozen=True)
class VerifiedRegistrationRequest:
    """A request whose signatures and certificates were checked; only :func:`verify_registration_request` makes it."""

    server: SecurityServerId
    address: str | None
    auth_cert_der: bytes
    clients: tuple[ClientId, ...]
    created_at: dt.datetime
    document: bytes  # the exact bytes that were verified
    request_type: str = REQUEST_TYPE  # or one of federation.central._management.MANAGEMENT_TYPES


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise RegistrationMalformed(f"{what} must be a non-empty base64 string")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise RegistrationMalformed(f"{what} is not valid base64") from None


def _der(cert: bytes | x509.Certificate) -> bytes:
    if isinstance(cert, x509.Certificate):
        return cert.public_bytes(serialization.Encoding.DER)
    return bytes(cert)


def _sign(signer: Signer, key_id: str, payload: bytes) -> dict[str, str]:
    algorithm = SignatureAlgorithm.for_key(signer.public_key(key_id), DigestAlgorithm.SHA512)
    value = signer.sign(key_id, algorithm, algorithm.digest.digest(payload))
    return {"algorithm": algorithm.value, "value": _b64(value)}


def build_registration_request(
    *,
    server: SecurityServerId,
    address: str | None,
    auth_cert: bytes | x509.Certificate,
    clients: Sequence[ClientId] = (),
    sign_cert: bytes | x509.Certificate,
    sign_ocsp: bytes,
    auth_ocsp: bytes,
    owner_signer: Signer,
    sign_key_id: str,
    auth_signer: Signer,
    auth_key_id: str,
    created_at: dt.datetime,
    nonce: str | None = None,
) -> bytes:
    """The signed request document (bytes to POST). Keys stay behind the signers.

    ``sign_ocsp``/``auth_ocsp`` are DER OCSP responses (fresh, ``good``) for the
    owner's sign certificate and the gateway's auth certificate.
    """
    return signed_document(
        REQUEST_TYPE, server=server, address=address, auth_cert=auth_cert, clients=clients,
        owner=MemberSigner(owner_signer, sign_key_id, sign_cert, sign_ocsp), auth_signer=auth_signer,
        auth_key_id=auth_key_id, auth_ocsp=auth_ocsp, created_at=created_at, nonce=nonce)


@dataclass(frozen=True)
class MemberSigner:
    """A member's sign key (behind its ``Signer``), its certificate and a fresh OCSP response for it."""

    signer: Signer
    key_id: str
    cert: bytes | x509.Certificate
    ocsp: bytes

    def signature(self, payload: bytes) -> dict[str, str]:
        signed = _sign(self.signer, self.key_id, payload)
        signed["certificate"] = _b64(_der(self.cert))
        signed["ocspResponse"] = _b64(self.ocsp)
        return signed


def signed_document(
    request_type: str, *, server: SecurityServerId, address: str | None, auth_cert: bytes | x509.Certificate,
    clients: Sequence[ClientId], owner: MemberSigner, auth_signer: Signer, auth_key_id: str, auth_ocsp: bytes,
    created_at: dt.datetime, nonce: str | None = None, member: MemberSigner | None = None,
) -> bytes:
    """The signed document of any request type: one payload, the owner's and the auth key's signatures.

    ``member`` adds the signature of the member a management request concerns when it
    is not the owner (a client of another member, a new owner), as X-Road requires.
    """
    if created_at.tzinfo is None:
        raise RegistrationMalformed("naive datetime refused")
    payload_obj = {
        "type": request_type,
        "instance": server.instance,
        "server": server.to_text(),
        "address": address,
        "authCertificate": _b64(_der(auth_cert)),
        "clients": [c.to_text() for c in clients],
        "createdAt": created_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nonce": nonce or secrets.token_hex(16),
    }
    payload = json.dumps(payload_obj, separators=(",", ":"), sort_keys=True).encode("utf-8")
    auth = _sign(auth_signer, auth_key_id, payload)
    auth["ocspResponse"] = _b64(auth_ocsp)
    document: dict[str, object] = {"payload": _b64(payload), "ownerSignature": owner.signature(payload),
                                   "authSignature": auth}
    if member is not None:
        document["memberSignature"] = member.signature(payload)
    return json.dumps(document, indent=2).encode("utf-8")


def submit_registration_request(base_url: str, document: bytes, *, timeout: float = 10.0, verify: object = True) -> dict[str, object]:
    """POST the document to the authority (``base_url`` e.g. ``https://cs.example.ee``); returns its answer."""
    url = base_url.rstrip("/") + "/api/v1/registration-requests"
    try:
        with httpx.Client(timeout=timeout, trust_env=False, verify=verify) as client:  # type: ignore[arg-type]
            response = client.post(url, content=document, headers={"Content-Type": "application/json"})
    except httpx.HTTPError as exc:
        raise RegistrationError(f"cannot reach {url}: {type(exc).__name__}") from exc
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code >= 400:
        message = answer.get("message") if isinstance(answer, dict) else None
        code = answer.get("code") if isinstance(answer, dict) else None
        error = RegistrationError(f"the authority refused the request (HTTP {response.status_code}): "
                                  f"{message or response.text[:200]}", code=code if isinstance(code, str) else None)
        error.relayed_status = response.status_code
        raise error
    return answer if isinstance(answer, dict) else {}


def _signature(obj: object, what: str) -> tuple[SignatureAlgorithm, bytes]:
    if not isinstance(obj, dict):
        raise RegistrationMalformed(f"{what} must be an object")
    try:
        algorithm = SignatureAlgorithm.from_uri(str(obj.get("algorithm", "")))
    except SildError as exc:
        raise RegistrationMalformed(f"{what}: {exc}") from exc
    return algorithm, _unb64(obj.get("value"), f"{what}.value")


def _cert(data: bytes, what: str) -> x509.Certificate:
    try:
        return read_certificate(data, der_only=True)
    except CertificateError:
        raise RegistrationMalformed(f"{what} is not a DER X.509 certificate") from None


def _check_signature(cert: x509.Certificate, algorithm: SignatureAlgorithm, value: bytes, payload: bytes, what: str) -> None:
    if not verify_digest(cert.public_key(), algorithm, algorithm.digest.digest(payload), value):
        raise RegistrationBadSignature(f"the {what} signature does not verify over the payload")


def verify_registration_request(document: bytes, policy: TrustPolicy, *, at: dt.datetime) -> VerifiedRegistrationRequest:
    """Check a received document (see module doc); raise a specific :class:`RegistrationError`."""
    if at.tzinfo is None:
        raise RegistrationMalformed("naive datetime refused")
    if len(document) > MAX_REQUEST_BYTES:
        raise RegistrationMalformed(f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        outer = json.loads(document)
    except (ValueError, UnicodeDecodeError):
        raise RegistrationMalformed("the request is not JSON") from None
    if not isinstance(outer, dict):
        raise RegistrationMalformed("the request must be a JSON object")
    payload = _unb64(outer.get("payload"), "payload")
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise RegistrationMalformed("the payload is not JSON") from None
    from ._management import MANAGEMENT_TYPES, check_management

    if not isinstance(body, dict) or body.get("type") not in (REQUEST_TYPE, *MANAGEMENT_TYPES):
        raise RegistrationMalformed(f"the payload must be an object of type {REQUEST_TYPE!r} or one of "
                                    f"{', '.join(MANAGEMENT_TYPES)}")
    try:
        server = parse_server(str(body.get("server", "")))
        clients = tuple(parse_client(str(c)) for c in body.get("clients") or [])
    except IdentifierError as exc:
        raise RegistrationMalformed(f"payload identifier: {exc}") from exc
    if body.get("instance") != policy.instance or server.instance != policy.instance:
        raise RegistrationMalformed(f"the request is for instance {body.get('instance')!r}, this is {policy.instance!r}")
    for client in clients:
        if client.instance != policy.instance:
            raise RegistrationMalformed(f"client {client.to_text()} is not of instance {policy.instance}")
    address = body.get("address")
    if address is not None and (not isinstance(address, str) or not address.strip() or len(address) > 255):
        raise RegistrationMalformed("address must be a host name")
    try:
        created = dt.datetime.strptime(str(body.get("createdAt")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise RegistrationMalformed("createdAt must be yyyy-mm-ddThh:mm:ssZ") from None
    if created > at + CLOCK_SKEW or created < at - MAX_AGE:
        raise RegistrationStale(f"the request was created at {created.isoformat()}, too far from now ({at.isoformat()})")
    auth_der = _unb64(body.get("authCertificate"), "authCertificate")
    auth_cert = _cert(auth_der, "authCertificate")

    verify_member_signature(outer, "ownerSignature", payload, policy, at, server.owner)

    auth = outer.get("authSignature")
    auth_alg, auth_value = _signature(auth, "authSignature")
    assert isinstance(auth, dict)
    auth_ocsp = _unb64(auth.get("ocspResponse"), "authSignature.ocspResponse")
    _check_signature(auth_cert, auth_alg, auth_value, payload, "auth key")
    try:
        validate_certificate(auth_cert, policy, at=at, ocsp=auth_ocsp, purpose="auth")
    except SildError as exc:
        raise RegistrationUntrustedCert(f"auth certificate: {exc}") from exc
    if body["type"] != REQUEST_TYPE:
        check_management(str(body["type"]), server, clients, address, outer, payload, policy, at)
    return VerifiedRegistrationRequest(server, address, auth_der, clients, created, bytes(document), str(body["type"]))


def verify_member_signature(outer: dict[str, object], name: str, payload: bytes, policy: TrustPolicy, at: dt.datetime,
                            member: MemberId) -> None:
    """Check the signature ``outer[name]`` over ``payload``: it verifies with its sign certificate,
    which is valid now, chains to an approved CA, has a fresh ``good`` OCSP response and
    belongs to ``member`` under that CA's certificate profile."""
    signed = outer.get(name)
    algorithm, value = _signature(signed, name)
    assert isinstance(signed, dict)
    sign_cert = _cert(_unb64(signed.get("certificate"), f"{name}.certificate"), f"{name}.certificate")
    sign_ocsp = _unb64(signed.get("ocspResponse"), f"{name}.ocspResponse")
    who = "owner" if name == "ownerSignature" else f"member {member.to_text()}"
    _check_signature(sign_cert, algorithm, value, payload, who)
    try:
        verified_sign = validate_certificate(sign_cert, policy, at=at, ocsp=sign_ocsp, purpose="sign")
    except SildError as exc:
        raise RegistrationUntrustedCert(f"{who} sign certificate: {exc}") from exc
    try:
        signer_matches(sign_cert, verified_sign.ca.certificate_profile, member)
    except SildError as exc:
        raise RegistrationWrongOwner(str(exc)) from exc
