"""The trust-side parts of a gateway node: message signatures, peer auth certs, own OCSP.

These adapt ``trust``'s functions to the narrow interfaces the proxies use
(:mod:`gateway.proxy._context`) and add what the hot path needs on top:

* **caching of trust decisions** (DESIGN.md section 5: checking a chain on every
  message halves verification speed): a signature's cryptography (reference digests,
  signing certificate reference, signature value) is checked on every message; the
  chain/profile/OCSP decision is memoised per (policy, certificate, OCSP responses,
  signer) by :func:`trust.xades._verify.trust_signature` for the moments at which it
  holds (validity periods, OCSP freshness) and at most ``decision_ttl`` seconds;
* **translation** of ``trust`` errors into X-Road fault codes at the protocol edge;
* **own OCSP responses** for the auth and sign certificates, fetched from the CA's
  responder by a scheduler job and kept on disk, so a restart does not need the
  responder and a responder outage does not stop traffic while responses are fresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from trust.pki import TrustPolicy
from trust.pki import cert_der, find_issuer, is_valid_at
from trust.pki import read_certificate
from trust.errors import TrustError
from trust.protocol import MemberId
from trust.keys import Signer, write_atomic
from trust.pki import OcspCertStatus, OcspError, find_approved_issuer, verify_ocsp_for_policy
from trust.pki import OcspClient
from trust.xades import SignedPart, create_signature, sign_batch
from trust.pki import ValidationCache
from trust.xades import check_cryptography, trust_signature

from ._batch import MessageSignature, SigningBatcher
from ._signed import SignedParts
from trust.protocol import XRoadFault, fault_for

log = logging.getLogger("sild.gateway.node")

PolicyFor = Callable[[str, dt.datetime], TrustPolicy]


def part_uris(data: SignedParts) -> list[tuple[str, str, bytes]]:
    """(URI, MIME type, bytes): ``/message.xml`` then ``/attachment1``... as X-Road names them."""
    out = []
    for i, (mime, raw) in enumerate(data.parts):
        out.append(("/message.xml" if i == 0 else f"/attachment{i}", mime, raw))
    return out


def _signed_parts(data: SignedParts) -> list[SignedPart]:
    return [SignedPart(uri, data=raw, mime_type=mime) for uri, mime, raw in part_uris(data)]


@dataclass(frozen=True)
class SignKey:
    """One member's signing key on this gateway, with its certificate chain (leaf first)."""

    key_id: str
    chain: tuple[x509.Certificate, ...]


class XadesMessageSigning:
    """XAdES signatures by the hosted members' sign keys; verification against policies.

    :meth:`sign_message` is the hot path's: concurrent messages of one member are signed
    together with hash chains (:class:`gateway.signing._batch.SigningBatcher`), a lone
    message alone, exactly as :meth:`sign` does.
    """

    def __init__(self, signer: Signer, keys: dict[MemberId, SignKey], *, ocsp: Callable[[str], list[bytes]],
                 policy_for: PolicyFor, clock: Callable[[], dt.datetime], decision_ttl: float = 60.0,
                 max_batch: int = 128) -> None:
        self._signer = signer
        self._keys = keys
        self._ocsp = ocsp
        self._policy_for = policy_for
        self._clock = clock
        self._cache = ValidationCache(decision_max_age=decision_ttl)
        self.batcher: SigningBatcher[MemberId, SignedParts] = SigningBatcher(
            lambda data, member: self.sign(data, member=member), self._sign_batch, max_batch=max_batch)

    def _key(self, member: MemberId) -> SignKey:
        key = self._keys.get(member)
        if key is None:
            raise XRoadFault("signer.key_not_found", f"this gateway holds no signing key of {member.to_text()}")
        return key

    def _signing_args(self, key: SignKey) -> dict[str, Any]:
        """What every signature by ``key`` needs besides the signed parts."""
        return {"signer": self._signer, "key_id": key.key_id, "certificate": key.chain[0],
                "signing_time": self._clock(), "ocsp_responses": self._ocsp(key.key_id),
                "extra_certificates": key.chain[1:-1] if len(key.chain) > 2 else ()}

    def sign(self, data: SignedParts, *, member: MemberId) -> bytes:
        key = self._key(member)
        try:
            return create_signature(_signed_parts(data), **self._signing_args(key))
        except TrustError as exc:
            raise XRoadFault("signer.cannot_create_signature", f"cannot sign the message: {exc}") from exc

    def sign_message(self, data: SignedParts, *, member: MemberId) -> MessageSignature:
        self._key(member)  # a missing key fails this message, never a batch
        return self.batcher.sign(data, member)

    def _sign_batch(self, items: Sequence[SignedParts], member: MemberId) -> list[MessageSignature]:
        key = self._key(member)
        try:
            batch = sign_batch([_signed_parts(d) for d in items], **self._signing_args(key))
        except TrustError as exc:
            raise XRoadFault("signer.cannot_create_signature", f"cannot sign the messages: {exc}") from exc
        return [MessageSignature(b.signature_xml, b.hash_chain_result, b.hash_chain) for b in batch]

    def verify(self, signature: bytes, data: SignedParts, *, signer: MemberId, at: dt.datetime,
               hash_chain_result: bytes | None = None, hash_chain: bytes | None = None) -> None:
        parts = {uri: raw for uri, _mime, raw in part_uris(data)}
        try:
            # parsed once: the trust decision works on the tree the cryptography was checked on
            parsed, chain = check_cryptography(signature, parts, hash_chain_result=hash_chain_result,
                                               hash_chain=hash_chain)
            trust_signature(parsed, chain, parts, policy=self._policy_for(signer.instance, at), signer=signer, at=at,
                            cache=self._cache)
        except XRoadFault:
            raise
        except TrustError as exc:  # its X-Road code from trust.protocol's one table
            raise fault_for(exc, "signature check failed", default="invalid_signature_value") from exc


def _auth_usage(cert: x509.Certificate) -> bool:
    """EKU clientAuth, or key usage digitalSignature/keyEncipherment (NOTES.md section 7)."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH in eku:
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        return bool(ku.digital_signature or ku.key_encipherment)
    except x509.ExtensionNotFound:
        return False


class PolicyAuthCheck:
    """A peer gateway's TLS auth certificate: approved CA, valid, auth usage, good fresh OCSP.

    A good decision is remembered, for at most ``decision_ttl`` seconds and never beyond
    the moment one of its inputs stops holding: the OCSP response's freshness
    (``thisUpdate`` + the instance's ``ocspFreshnessSeconds``, and ``nextUpdate``), the
    certificate's validity, or the trust policy it was made under (a new configuration
    means a new decision). Refusals are never remembered.
    """

    def __init__(self, policy_for: PolicyFor, *, decision_ttl: float = 60.0) -> None:
        self._policy_for = policy_for
        self._ttl = dt.timedelta(seconds=decision_ttl)
        # key -> (the policy the decision was made under, made at, good until)
        self._decisions: dict[tuple[bytes, tuple[bytes, ...], str], tuple[TrustPolicy, dt.datetime, dt.datetime]] = {}
        self._lock = threading.Lock()

    def check(self, cert_der_bytes: bytes, ocsp_responses: Sequence[bytes], *, instance: str,
              at: dt.datetime) -> None:
        key = (hashlib.sha256(cert_der_bytes).digest(),
               tuple(hashlib.sha256(o).digest() for o in ocsp_responses), instance)
        fail = "ssl_authentication_failed"
        try:
            policy = self._policy_for(instance, at)
        except TrustError as exc:
            raise XRoadFault(fail, f"no trust policy for instance {instance}") from exc
        with self._lock:
            seen = self._decisions.get(key)
        if seen is not None and seen[0] is policy and seen[1] <= at < seen[2]:
            return
        try:
            # DER straight from the TLS stack: parsed as DER, never stripped or re-guessed
            # (a DER certificate may end in a byte that looks like white space)
            cert = read_certificate(cert_der_bytes, der_only=True)
            _ca, _issuer = find_approved_issuer(cert, policy)
        except TrustError as exc:  # CertificateError is one
            raise XRoadFault(fail, f"the peer's auth certificate is not from an approved CA of {instance}") from exc
        if not is_valid_at(cert, at):
            raise XRoadFault(fail, "the peer's auth certificate is not valid now")
        if not _auth_usage(cert):
            raise XRoadFault(fail, "the peer's certificate is not an authentication certificate")
        if not ocsp_responses:
            raise XRoadFault(fail, "no OCSP response for the peer's auth certificate")
        problems = []
        for der in ocsp_responses:
            try:
                status = verify_ocsp_for_policy(der, cert, policy, at=at)
            except OcspError as exc:
                problems.append(str(exc))
                continue
            if status.status is OcspCertStatus.GOOD:
                until = min(at + self._ttl, cert.not_valid_after_utc,
                            status.this_update + dt.timedelta(seconds=policy.ocsp_freshness_seconds))
                if status.next_update is not None:
                    until = min(until, status.next_update)
                with self._lock:
                    if len(self._decisions) > 10000:
                        self._decisions.clear()
                    self._decisions[key] = (policy, at, until)
                return
            raise XRoadFault(fail, f"the peer's auth certificate is {status.status.name.lower()}")
        raise XRoadFault(fail, "no valid OCSP response for the peer's auth certificate: " + "; ".join(problems))


class OwnOcspStore:
    """OCSP responses for this gateway's auth and sign certificates, kept fresh by a job."""

    def __init__(self, directory: Path, certs: dict[str, x509.Certificate], policy_for: PolicyFor,
                 instance: str, *, client: OcspClient | None = None, auth_key: str = "auth") -> None:
        self.directory = directory
        self._certs = certs  # key id -> certificate
        self.auth_key = auth_key  # the key whose certificate the TLS serves (a renewed auth key's, once active)
        self._policy_for = policy_for
        self._instance = instance
        self._client = client or OcspClient()
        self._responses: dict[str, list[bytes]] = {}
        self._last_refresh: dt.datetime | None = None
        self._last_error: str | None = None
        self._load()

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.ocsp"

    def _load(self) -> None:
        for name in self._certs:
            path = self._path(name)
            if path.is_file():
                self._responses[name] = [path.read_bytes()]

    def reload(self) -> None:
        """Read the stored responses again (worker processes: the main process refreshes them)."""
        self._load()

    def responses(self) -> list[bytes]:
        """Responses for the auth certificate (sent with every request to a peer)."""
        return list(self._responses.get(self.auth_key, []))

    def for_key(self, key_id: str) -> list[bytes]:
        return list(self._responses.get(key_id, []))

    def for_cert(self, cert_sha1_hex: str) -> list[bytes]:
        """Responses served to peers that ask by SHA-1 of the certificate (the OCSP port)."""
        for name, cert in self._certs.items():
            if hashlib.sha1(cert_der(cert)).hexdigest() == cert_sha1_hex.lower():  # noqa: S324 - the protocol's key
                return list(self._responses.get(name, []))
        return []

    def refresh(self, at: dt.datetime) -> None:
        """Fetch fresh responses from the issuing CA's responder; keep old ones on failure."""
        policy = self._policy_for(self._instance, at)
        errors = []
        for name, cert in self._certs.items():
            try:
                ca, issuer = find_approved_issuer(cert, policy)
                urls = [r.url for r in ca.ocsp_responders if r.url]
                if not urls:
                    raise OcspError(f"CA {ca.name} lists no OCSP responder")
                responders = tuple(r.cert for r in ca.ocsp_responders if r.cert is not None)
                status = self._client.fetch(cert, issuer, urls[0], at=at,
                                            freshness_seconds=policy.ocsp_freshness_seconds,
                                            responder_certs=responders)
            except TrustError as exc:
                errors.append(f"{name}: {exc}")
                continue
            self._responses[name] = [status.response_der]
            write_atomic(self._path(name), status.response_der)
        self._last_refresh = at
        self._last_error = "; ".join(errors) or None
        if errors:
            log.warning("OCSP refresh failed: %s", self._last_error)
        self._write_status()

    def _write_status(self) -> None:
        write_atomic(self.directory / "status.json", json.dumps({
            "last_refresh": self._last_refresh.isoformat() if self._last_refresh else None,
            "last_error": self._last_error,
        }).encode())

    def due(self, at: dt.datetime, interval_seconds: float) -> bool:
        """A refresh is due: a certificate has no response, the last run failed, or it is old."""
        if any(not self._responses.get(name) for name in self._certs) or self._last_error:
            return True
        return self._last_refresh is None or (at - self._last_refresh).total_seconds() >= interval_seconds

    def health(self) -> dict[str, object]:
        return {"last_refresh": self._last_refresh.isoformat() if self._last_refresh else None,
                "last_error": self._last_error, "have": sorted(self._responses)}

    def close(self) -> None:
        self._client.close()


def issuer_chain(cert: x509.Certificate, policy: TrustPolicy) -> list[x509.Certificate]:
    """Intermediates between ``cert`` and its approved top CA (for CertificateValues)."""
    for ca in policy.cas:
        pool = list(ca.intermediates)
        out = []
        current = cert
        while True:
            issuer = find_issuer(current, pool)
            if issuer is None:
                break
            out.append(issuer)
            pool.remove(issuer)
            current = issuer
        if out or find_issuer(cert, [ca.top_cert]) is not None:
            return out
    return []
