"""Test helpers of the evidence tests: X-Road's trust policies from files, and a small evidence PKI.

:func:`make_pki` builds an :class:`EvidencePki` (root CA, delegated OCSP responder,
in-process TSA, member sign keys in a SoftToken) with the tests' one certificate
builder (:mod:`tests.support.pki`); the evidence profile always sets BasicConstraints
and marks extended key usages critical.

:func:`policies_for_tree` reads TrustPolicies of an X-Road configuration tree (such as
``globalconf_good2_v3``) from the files. Loading configuration into trust policies is federation's job (``federation.conftree``);
``trust`` tests may not import federation, so this reads only what the ASiC vectors
need: approved CAs (top CA, intermediates, OCSP responders, certificate profile),
approved TSAs and ``ocspFreshnessSeconds`` of one instance's shared parameters.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography import x509

from trust.pki import ApprovedCa, ApprovedTsa, OcspResponderInfo, TrustPolicy
from trust.infra import parse_xml


def _cert(text: str | None) -> x509.Certificate:
    raw = base64.b64decode("".join((text or "").split()))
    if raw.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def policy_from_shared_params(path: Path) -> TrustPolicy:
    root = parse_xml(path.read_bytes(), what="shared parameters")
    cas = []
    for ca in root.findall("approvedCA"):
        top = ca.find("topCA")
        assert top is not None
        responders = tuple(
            OcspResponderInfo(o.findtext("url") or "", _cert(o.findtext("cert")) if o.findtext("cert") else None)
            for o in [*top.findall("ocsp"), *[x for i in ca.findall("intermediateCA") for x in i.findall("ocsp")]]
        )
        cas.append(
            ApprovedCa(
                name=ca.findtext("name") or "",
                top_cert=_cert(top.findtext("cert")),
                intermediates=tuple(_cert(i.findtext("cert")) for i in ca.findall("intermediateCA")),
                ocsp_responders=responders,
                authentication_only=(ca.findtext("authenticationOnly") or "false").strip() == "true",
                certificate_profile=(ca.findtext("certificateProfileInfo") or "").strip(),
            )
        )
    tsas = tuple(
        ApprovedTsa(t.findtext("name") or "", t.findtext("url") or "", _cert(t.findtext("cert")))
        for t in root.findall("approvedTSA")
    )
    freshness = root.findtext("globalSettings/ocspFreshnessSeconds")
    return TrustPolicy(
        instance=(root.findtext("instanceIdentifier") or "").strip(),
        cas=tuple(cas),
        tsas=tsas,
        ocsp_freshness_seconds=int(freshness) if freshness else 3600,
    )


def policies_for_tree(tree: Path) -> dict[str, TrustPolicy]:
    """Every instance directory with a shared-params.xml under an X-Road configuration tree."""
    result = {}
    for shared in sorted(tree.glob("*/shared-params.xml")):
        policy = policy_from_shared_params(shared)
        result[policy.instance] = policy
    return result


# -- a small test PKI made with ``cryptography`` -------------------------------------------------

import datetime as dt  # noqa: E402
from collections.abc import Collection, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from cryptography.x509 import ocsp as x509_ocsp  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: E402

from trust.xades import EJBCA, FIVRK
from trust.keys import SoftToken
from trust.evidence import VerifiedTimestamp, verify_timestamp_token
from trust.evidence._timestamp import build_request, parse_reply
from trust.services import TimestampAuthority
from trust.services._tsa import PersistentSerials
from tests.support.pki import issue, name

UTC = dt.timezone.utc
VALID_FROM = dt.datetime(2026, 1, 1, tzinfo=UTC)
VALID_TO = dt.datetime(2030, 1, 1, tzinfo=UTC)


def _issue(
    subject: x509.Name,
    public_key: object,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    key_usage: Collection[str] = (),
    eku: Sequence[x509.ObjectIdentifier] = (),
    not_before: dt.datetime = VALID_FROM,
    not_after: dt.datetime = VALID_TO,
) -> x509.Certificate:
    """The evidence profile of :func:`tests.support.pki.issue`: BasicConstraints always, EKU critical."""
    return issue(subject, public_key, issuer, issuer_key, ca=ca, key_usage=key_usage, eku=eku, eku_critical=True,
                 not_before=not_before, not_after=not_after)


@dataclass
class EvidencePki:
    """Root CA, delegated OCSP responder, TSA and member sign certificates (keys in a SoftToken)."""

    instance: str
    root_key: rsa.RSAPrivateKey
    root: x509.Certificate
    ocsp_key: ec.EllipticCurvePrivateKey
    ocsp_cert: x509.Certificate
    token: SoftToken
    tsa_cert: x509.Certificate
    tsa: TimestampAuthority
    profile: str
    sign_certs: dict[str, x509.Certificate] = field(default_factory=dict)

    def policy(self, freshness: int = 3600) -> TrustPolicy:
        return TrustPolicy(
            instance=self.instance,
            cas=(ApprovedCa("sild test CA", self.root, ocsp_responders=(OcspResponderInfo("http://127.0.0.1:1", self.ocsp_cert),),
                            certificate_profile=self.profile),),
            tsas=(ApprovedTsa("sild test TSA", "http://127.0.0.1:1", self.tsa_cert),),
            ocsp_freshness_seconds=freshness,
        )

    def issue(self, subject: x509.Name, public_key: object, *, key_usage: Collection[str],
              eku: Sequence[x509.ObjectIdentifier] = ()) -> x509.Certificate:
        """A certificate issued by the root (valid 2026-2030)."""
        return _issue(subject, public_key, self.root.subject, self.root_key, key_usage=key_usage, eku=eku)

    def issue_sign_cert(
        self, key_id: str, member_class: str, member_code: str, *, ecdsa: bool = False,
        not_before: dt.datetime = VALID_FROM, not_after: dt.datetime = VALID_TO, non_repudiation: bool = True,
    ) -> x509.Certificate:
        public = self.token.generate(key_id, KeyType.EC_P256 if ecdsa else KeyType.RSA2048)
        if self.profile == FIVRK:
            subject = name(C="FI", O="Test org", CN=member_code, serialNumber=f"{self.instance}/ss1/{member_class}")
        else:
            subject = name(C=self.instance, O=member_class, CN=member_code)
        cert = _issue(subject, public, self.root.subject, self.root_key,
                      key_usage={"content_commitment" if non_repudiation else "digital_signature"},
                      not_before=not_before, not_after=not_after)
        self.sign_certs[key_id] = cert
        return cert

    def ocsp(self, cert: x509.Certificate, at: dt.datetime, *, revoked: bool = False,
             valid_for: dt.timedelta = dt.timedelta(hours=1)) -> bytes:
        builder = x509_ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=self.root, algorithm=hashes.SHA1(),
            cert_status=x509_ocsp.OCSPCertStatus.REVOKED if revoked else x509_ocsp.OCSPCertStatus.GOOD,
            this_update=at, next_update=at + valid_for,
            revocation_time=at - dt.timedelta(days=1) if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        ).responder_id(x509_ocsp.OCSPResponderEncoding.HASH, self.ocsp_cert).certificates([self.ocsp_cert])
        return builder.sign(self.ocsp_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def stamp(self, data: bytes, *, at: dt.datetime) -> VerifiedTimestamp:
        """The TSA in-process (the HTTP client is tested with the TSA's own tests)."""
        from trust.keys import DigestAlgorithm

        digest = DigestAlgorithm.SHA512.digest(data)
        token = parse_reply(self.tsa.respond(build_request(digest, DigestAlgorithm.SHA512, nonce=7), at))
        return verify_timestamp_token(token, data=data, tsa_certs=[self.tsa_cert], at=at)


from trust.keys import KeyType


def make_pki(directory: Path, *, instance: str = "DEV", profile: str = FIVRK) -> EvidencePki:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = name(O="sild test", CN=f"{instance} test CA")
    root = _issue(root_name, root_key.public_key(), root_name, root_key, ca=True,
                  key_usage={"key_cert_sign", "crl_sign"})
    ocsp_key = ec.generate_private_key(ec.SECP256R1())
    ocsp_cert = _issue(name(CN=f"{instance} test OCSP"), ocsp_key.public_key(), root_name, root_key,
                       key_usage={"digital_signature"}, eku=[ExtendedKeyUsageOID.OCSP_SIGNING])
    token = SoftToken(directory / "token", "1234")
    tsa_public = token.generate("tsa", KeyType.EC_P256)
    tsa_cert = _issue(name(CN=f"{instance} test TSA"), tsa_public, root_name, root_key,
                      key_usage={"digital_signature"}, eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    tsa = TimestampAuthority(token, "tsa", tsa_cert, PersistentSerials(directory / "tsa-serial"))
    return EvidencePki(instance, root_key, root, ocsp_key, ocsp_cert, token, tsa_cert, tsa, profile)


__all__ = ["EJBCA", "FIVRK", "EvidencePki", "make_pki", "policies_for_tree", "policy_from_shared_params"]
