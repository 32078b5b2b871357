"""The RFC 3161 responder core: ``TimeStampReq`` DER in, ``TimeStampResp`` DER out.

No HTTP here (``trust_http`` serves it). Every request gets an answer: a malformed
or unacceptable one a ``rejection`` with the RFC's failure bit and a status string,
so an RFC 3161 client always learns why. :meth:`TimestampAuthority.handle` also
tells the HTTP layer whether the request was refused, so it can use a 4xx status.

Serial numbers must never repeat, also across restarts and crashes, without an
fsync per token: :class:`PersistentSerials` bumps a boot counter on disk once at
start-up (atomically) and hands out ``boot << 64 | n`` from memory afterwards.

The token is signed through the :class:`~trust.keys._token.Signer` interface (the key never
leaves the token) with signed attributes contentType, signingTime, messageDigest and
an ESSCertIDv2 (SHA-512) naming the TSA certificate, as RFC 5816 asks.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.pki import asn1_signature_algorithm_name, cert_der, is_tsa_cert, require_aware
from trust.errors import TrustError
from trust.keys import Signer, write_atomic
from trust.evidence import IMPRINT_ALGORITHMS, TimeStampResp, TimestampError
from trust.infra import utc_now

# sild's own TSA policy arc (private, under a placeholder enterprise number for
# development deployments; a real TSA configures the OID its practice statement names).
DEFAULT_TSA_POLICY = "1.3.6.1.4.1.59822.1.3161.1"

MAX_REQUEST_BYTES = 16 * 1024


class PersistentSerials:
    """Serial numbers unique across restarts: ``boot << 64 | counter``.

    The boot number is read, incremented and written back atomically when the
    object is created, so two runs never share a prefix even after a crash.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # an exclusive lock on a side file: two TSAs starting at once on one directory
        # must not both read boot N and both write N + 1
        with open(self.path.with_name(self.path.name + ".lock"), "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                boot = 0
                if self.path.exists():
                    try:
                        boot = int(self.path.read_text("ascii").strip())
                    except ValueError as exc:
                        raise TrustError(f"TSA serial file {self.path} is damaged",
                                         code="trust.tsa.serial_file") from exc
                boot += 1
                write_atomic(self.path, f"{boot}\n".encode("ascii"), mode=0o600)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        self._boot = boot
        self._counter = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._counter += 1
            if self._counter >= 1 << 64:
                raise TrustError("TSA serial counter exhausted; restart the TSA", code="trust.tsa.serial_exhausted")
            return (self._boot << 64) | self._counter


@dataclass(frozen=True)
class TsaResult:
    """The DER reply and, when the request was refused, why (for a 4xx at the HTTP edge)."""

    reply: bytes
    failure: str | None = None
    fail_info: str | None = None


class _Reject(Exception):
    def __init__(self, fail_info: str, message: str) -> None:
        super().__init__(message)
        self.fail_info = fail_info
        self.message = message


class TimestampAuthority:
    """Stamps digests with the TSA key held by ``signer`` under ``key_id``."""

    def __init__(
        self,
        signer: Signer,
        key_id: str,
        cert: x509.Certificate,
        serials: PersistentSerials,
        *,
        chain: Sequence[x509.Certificate] = (),
        policy: str = DEFAULT_TSA_POLICY,
        digest: DigestAlgorithm = DigestAlgorithm.SHA512,
        accuracy_seconds: int = 1,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if not is_tsa_cert(cert):
            raise TimestampError("the TSA certificate lacks a critical timeStamping EKU", code="trust.tsa.bad_cert")
        self.signer = signer
        self.key_id = key_id
        self.cert = cert
        self.chain = tuple(chain)
        self.policy = policy
        self.serials = serials
        self.accuracy_seconds = accuracy_seconds
        self._clock = clock or utc_now
        self._sig_alg = _signature_algorithm(signer, key_id, digest)
        self._digest = self._sig_alg.digest
        self._cert_der = cert_der(cert)
        self._asn1_cert = asn1_x509.Certificate.load(self._cert_der)
        # the constant parts are encoded once: asn1crypto re-encodes parsed names and
        # certificates placed into a new structure, which cost 90 % of a token's time
        self._tsa_name_der = asn1_x509.GeneralName(name="directory_name", value=self._asn1_cert.subject).dump()
        self._ess_der = cms.CMSAttribute({"type": "signing_certificate_v2", "values": [{
            "certs": [{
                "hash_algorithm": {"algorithm": "sha512"},
                "cert_hash": hashlib.sha512(self._cert_der).digest(),
                "issuer_serial": {
                    "issuer": [asn1_x509.GeneralName(name="directory_name", value=self._asn1_cert.issuer)],
                    "serial_number": self._asn1_cert.serial_number,
                },
            }],
        }]}).dump()
        self._sid_der = cms.SignerIdentifier(name="issuer_and_serial_number", value={
            "issuer": self._asn1_cert.issuer,
            "serial_number": self._asn1_cert.serial_number,
        }).dump()
        self._certs_der = [cert_der(c) for c in (cert, *self.chain)]

    def respond(self, request_der: bytes, at: dt.datetime | None = None) -> bytes:
        return self.handle(request_der, at).reply

    def handle(self, request_der: bytes, at: dt.datetime | None = None) -> TsaResult:
        moment = require_aware(at) if at is not None else require_aware(self._clock())
        try:
            request = self._parse(request_der)
        except _Reject as rej:
            return TsaResult(_rejection(rej.fail_info, rej.message), rej.message, rej.fail_info)
        token = self._token(request, moment)
        reply = TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
        return TsaResult(bytes(reply.dump()))

    # -- internals ---------------------------------------------------------
    def _parse(self, data: bytes) -> tsp.TimeStampReq:
        if len(data) > MAX_REQUEST_BYTES:
            raise _Reject("bad_request", "request too large")
        try:
            request = tsp.TimeStampReq.load(data, strict=True)
            request.native
        except (ValueError, TypeError, KeyError):
            raise _Reject("bad_data_format", "request is not a DER TimeStampReq") from None
        if request["version"].native != "v1":
            raise _Reject("bad_request", "only TimeStampReq version 1 is supported")
        imprint = request["message_imprint"]
        name = imprint["hash_algorithm"]["algorithm"].native
        alg = IMPRINT_ALGORITHMS.get(str(name))
        if alg is None:
            raise _Reject("bad_alg", f"hash algorithm {name} is not accepted (SHA-256, SHA-384, SHA-512)")
        if len(imprint["hashed_message"].native) != alg.hash_class().digest_size:
            raise _Reject("bad_data_format", "imprint length does not match its hash algorithm")
        policy = request["req_policy"].native
        if policy is not None and request["req_policy"].dotted != self.policy:
            raise _Reject("unaccepted_policy", f"policy {request['req_policy'].dotted} is not offered")
        if request["extensions"].native:
            raise _Reject("unaccepted_extensions", "request extensions are not supported")
        return request

    def _token(self, request: tsp.TimeStampReq, moment: dt.datetime) -> cms.ContentInfo:
        gen_time = moment.replace(microsecond=0)
        fields: dict[str, object] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": request["message_imprint"],
            "serial_number": self.serials.next(),
            "gen_time": gen_time,
            "accuracy": {"seconds": self.accuracy_seconds},
            "tsa": asn1_x509.GeneralName.load(self._tsa_name_der),
        }
        if request["nonce"].native is not None:
            fields["nonce"] = request["nonce"]
        tst_der = tsp.TSTInfo(fields).dump()
        digest_name = self._digest.hashlib_name
        signed_attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "signing_time", "values": [cms.Time(name="utc_time", value=gen_time)]},
            {"type": "message_digest", "values": [hashlib.new(digest_name, tst_der).digest()]},
            cms.CMSAttribute.load(self._ess_der),
        ])
        to_sign = b"\x31" + bytes(signed_attrs.dump()[1:])
        signature = self.signer.sign(self.key_id, self._sig_alg, self._digest.digest(to_sign))
        signer_info = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier.load(self._sid_der),
            "digest_algorithm": {"algorithm": digest_name},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": asn1_signature_algorithm_name(self._sig_alg)},
            "signature": signature,
        })
        signed: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": [{"algorithm": digest_name}],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": core.ParsableOctetString(tst_der),
            },
            "signer_infos": [signer_info],
        }
        if request["cert_req"].native:
            signed["certificates"] = [asn1_x509.Certificate.load(der) for der in self._certs_der]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)})


def _signature_algorithm(signer: Signer, key_id: str, digest: DigestAlgorithm) -> SignatureAlgorithm:
    return SignatureAlgorithm.for_key(signer.public_key(key_id), digest)


def _rejection(fail_info: str, message: str) -> bytes:
    resp = TimeStampResp({
        "status": {
            "status": "rejection",
            "status_string": [message],
            "fail_info": tsp.PKIFailureInfo({fail_info}),
        }
    })
    return bytes(resp.dump())
