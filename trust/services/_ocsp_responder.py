"""The OCSP responder core (RFC 6960): request DER in, response DER out.

Status comes live from the CA register (:class:`~trust.services._ca_db.CaDatabase`) on every
request, so a revocation is visible at once, also when another process (the CLI)
made it. Responses are signed through the :class:`~trust.keys._token.Signer` interface by
the delegated OCSP certificate (EKU OCSPSigning, id-pkix-ocsp-nocheck), which is
embedded so relying parties can check the delegation.

Bad input never raises: a request that is not DER gets ``malformedRequest``, a
request about a CA this responder does not serve gets ``unauthorized``, and an
internal failure (e.g. the database is gone) gets ``internalError``; the caller
(``trust_http``) maps these to HTTP statuses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import core
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from ._ca_db import CaDatabase
from ._ca import RevocationReason
from trust.pki import asn1_signature_algorithm_name, cert_der, fingerprint_hex, require_aware
from trust.errors import TrustError
from trust.keys import Signer
from trust.pki import cert_id_hashes, public_key_bits

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024
MAX_CERTS_PER_REQUEST = 32
_CERT_ID_HASHES = ("sha1", "sha256", "sha384", "sha512")


@dataclass(frozen=True)
class OcspResult:
    """The DER response and its ``responseStatus`` (for the HTTP edge)."""

    response: bytes
    status: str
    detail: str | None = None


@dataclass(frozen=True)
class OcspIssuer:
    """A CA the responder answers for, and who signs those answers: a delegated
    OCSP certificate, or the CA certificate itself (``responder_cert == issuer``)."""

    issuer: x509.Certificate
    signer: Signer
    key_id: str
    responder_cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


class _Issuer:
    """Per-issuer values computed once."""

    def __init__(self, spec: OcspIssuer, digest: DigestAlgorithm) -> None:
        self.spec = spec
        self.sig_alg = SignatureAlgorithm.for_key(spec.signer.public_key(spec.key_id), digest)
        # encoded once and re-loaded per response: asn1crypto re-encodes parsed objects put into new structures
        self.certs_der = [cert_der(c) for c in (spec.responder_cert, *spec.chain)]
        self.responder_key_hash = hashlib.sha1(public_key_bits(spec.responder_cert)).digest()
        self.fingerprint = fingerprint_hex(spec.issuer)
        self.hashes = {name: cert_id_hashes(spec.issuer, name) for name in _CERT_ID_HASHES}

    def matches(self, cert_id: asn1_ocsp.CertId) -> bool:
        expected = self.hashes.get(str(cert_id["hash_algorithm"]["algorithm"].native))
        return expected is not None and (
            cert_id["issuer_name_hash"].native, cert_id["issuer_key_hash"].native) == expected


class OcspResponder:
    """Answers for certificates issued by ``issuer`` (and ``extra_issuers``) from ``database``.

    One response has one signer: when a request names certificates of several
    issuers, the first issuer's signer answers and certificates of the others get
    ``unknown`` (clients ask per issuer in practice: openssl and X-Road do).
    """

    def __init__(
        self,
        database: CaDatabase,
        issuer: x509.Certificate,
        signer: Signer,
        key_id: str,
        responder_cert: x509.Certificate,
        *,
        chain: Sequence[x509.Certificate] = (),
        validity: dt.timedelta = dt.timedelta(hours=1),
        digest: DigestAlgorithm = DigestAlgorithm.SHA256,
        extra_issuers: Sequence[OcspIssuer] = (),
    ) -> None:
        self.database = database
        self.issuer = issuer
        self.signer = signer
        self.key_id = key_id
        self.responder_cert = responder_cert
        self.validity = validity
        first = OcspIssuer(issuer, signer, key_id, responder_cert, tuple(chain))
        self._issuers = [_Issuer(spec, digest) for spec in (first, *extra_issuers)]

    def respond(self, request_der: bytes, at: dt.datetime) -> bytes:
        return self.handle(request_der, at).response

    def handle(self, request_der: bytes, at: dt.datetime) -> OcspResult:
        at = require_aware(at).replace(microsecond=0)
        try:
            requests, nonce = self._parse(request_der)
        except _Malformed as exc:
            return OcspResult(_status_only("malformed_request"), "malformed_request", str(exc))
        matched = [next((i for i in self._issuers if i.matches(r)), None) for r in requests]
        signing = next((i for i in matched if i is not None), None)
        if signing is None:
            return OcspResult(_status_only("unauthorized"), "unauthorized",
                              "this responder does not serve the issuer named in the request")
        try:
            singles = [self._single(r, at, signing) if i is signing else _unknown(r, at, self.validity)
                       for r, i in zip(requests, matched)]
        except TrustError as exc:
            log.error("OCSP responder cannot read the CA register: %s", exc)
            return OcspResult(_status_only("internal_error"), "internal_error", "status not available")
        return OcspResult(self._sign(singles, nonce, at, signing), "successful")

    # -- internals ---------------------------------------------------------
    def _parse(self, data: bytes) -> tuple[list[asn1_ocsp.CertId], core.Asn1Value | None]:
        if not data:
            raise _Malformed("empty request")
        if len(data) > MAX_REQUEST_BYTES:
            raise _Malformed("request too large")
        try:
            request = asn1_ocsp.OCSPRequest.load(data, strict=True)
            request.native  # parse everything now
            tbs = request["tbs_request"]
            cert_ids = [r["req_cert"] for r in tbs["request_list"]]
            nonce = None
            for ext in tbs["request_extensions"] or []:
                if ext["extn_id"].native == "nonce":
                    nonce = ext["extn_value"]
        except (ValueError, TypeError, KeyError) as exc:
            raise _Malformed(f"not a DER OCSPRequest: {exc}") from None
        if not cert_ids:
            raise _Malformed("request lists no certificates")
        if len(cert_ids) > MAX_CERTS_PER_REQUEST:
            raise _Malformed(f"request lists more than {MAX_CERTS_PER_REQUEST} certificates")
        return cert_ids, nonce

    def _single(self, cert_id: asn1_ocsp.CertId, at: dt.datetime, issuer: _Issuer) -> dict[str, object]:
        record = self.database.status(int(cert_id["serial_number"].native))
        if record is None or record[0] != issuer.fingerprint:
            return _unknown(cert_id, at, self.validity)
        _issuer, revoked_at, revocation_reason = record
        if revoked_at is not None and revoked_at <= at:
            reason = RevocationReason.parse(revocation_reason or "unspecified")
            status = asn1_ocsp.CertStatus(name="revoked", value={
                "revocation_time": revoked_at,
                "revocation_reason": reason.asn1_name,
            })
        else:
            status = asn1_ocsp.CertStatus(name="good", value=core.Null())
        return {"cert_id": cert_id, "cert_status": status, "this_update": at, "next_update": at + self.validity}

    def _sign(self, singles: list[dict[str, object]], nonce: core.Asn1Value | None, at: dt.datetime,
              issuer: _Issuer) -> bytes:
        data: dict[str, object] = {
            "responder_id": asn1_ocsp.ResponderId(name="by_key", value=issuer.responder_key_hash),
            "produced_at": at,
            "responses": singles,
        }
        if nonce is not None:
            data["response_extensions"] = [{"extn_id": "nonce", "critical": False, "extn_value": nonce}]
        tbs = asn1_ocsp.ResponseData(data)
        tbs_der = tbs.dump()
        sig_alg = issuer.sig_alg
        signature = issuer.spec.signer.sign(issuer.spec.key_id, sig_alg, sig_alg.digest.digest(tbs_der))
        basic = asn1_ocsp.BasicOCSPResponse({
            "tbs_response_data": tbs,
            "signature_algorithm": {"algorithm": asn1_signature_algorithm_name(sig_alg)},
            "signature": signature,
            "certs": [asn1_x509.Certificate.load(der) for der in issuer.certs_der],
        })
        response = asn1_ocsp.OCSPResponse({
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
        })
        return bytes(response.dump())


class _Malformed(Exception):
    pass


def _unknown(cert_id: asn1_ocsp.CertId, at: dt.datetime, validity: dt.timedelta) -> dict[str, object]:
    return {
        "cert_id": cert_id,
        "cert_status": asn1_ocsp.CertStatus(name="unknown", value=core.Null()),
        "this_update": at,
        "next_update": at + validity,
    }


def _status_only(status: str) -> bytes:
    return bytes(asn1_ocsp.OCSPResponse({"response_status": status}).dump())

