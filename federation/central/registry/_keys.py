"""Configuration signing keys of the governing authority, and their rotation.

The internal and the external configuration are each signed with their own key, held
in a :class:`trust.keys._token.SoftToken` (``DIR/token``). A gateway finds the verification
key through the certificate listed in its anchor and in the shared parameters'
``source`` elements; X-Road uses these certificates only as public-key holders, so a
self-signed certificate is enough. It is built here from the public key and signed
through the :class:`~trust.keys._token.Signer` interface (only a digest goes to the token;
the private key never leaves it).

Rotation, in the order that keeps every gateway verifying:

1. :func:`create_signing_key` with ``activate=False`` adds a *pending* key. The next
   configuration lists its certificate beside the active one (``source`` and the
   exported anchors) but is still signed with the old key; gateways learn the new
   certificate from configuration they can verify.
2. After the overlap (at least one configuration expiry interval, typically a day),
   :meth:`Registry.activate_signing_key` makes it active; the old key is retired and
   no longer signs. Old anchors listing only the old certificate still verify
   anything signed before the switch, and gateways that took the new certificate from
   the configuration verify what comes after. Operators export a new anchor.
3. :meth:`Registry.remove_signing_key` removes the retired key from the sources.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.pki import asn1_signature_algorithm_name
from trust.keys import KeyType, SoftToken

from ._registry import Registry

CERT_VALIDITY = dt.timedelta(days=365 * 20)


def _time(moment: dt.datetime) -> asn1_x509.Time:
    moment = moment.astimezone(dt.timezone.utc).replace(microsecond=0)
    if moment.year < 2050:
        return asn1_x509.Time({"utc_time": moment})
    return asn1_x509.Time({"general_time": moment})


def self_signed_certificate(token: SoftToken, key_id: str, common_name: str, *, now: dt.datetime) -> bytes:
    """DER of a self-signed certificate for ``key_id`` (a public-key holder), signed via the token."""
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    public = token.public_key(key_id)
    algorithm = SignatureAlgorithm.for_key(public, DigestAlgorithm.SHA512)
    spki = asn1_keys.PublicKeyInfo.load(
        public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    name = asn1_x509.Name.build({"common_name": common_name})
    sig_alg = {"algorithm": asn1_signature_algorithm_name(algorithm)}
    if not algorithm.is_ecdsa:
        sig_alg["parameters"] = None  # type: ignore[assignment]
    key_hash = hashlib.sha1(spki["public_key"].contents).digest()  # noqa: S324 - RFC 5280 key identifier method 1
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": int.from_bytes(secrets.token_bytes(16), "big") >> 1,
            "signature": sig_alg,
            "issuer": name,
            "validity": {"not_before": _time(now - dt.timedelta(hours=1)), "not_after": _time(now + CERT_VALIDITY)},
            "subject": name,
            "subject_public_key_info": spki,
            "extensions": [
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {"extn_id": "key_usage", "critical": True, "extn_value": {"digital_signature"}},
                {"extn_id": "key_identifier", "critical": False, "extn_value": key_hash},
            ],
        }
    )
    digest = algorithm.digest.digest(tbs.dump())
    signature = token.sign(key_id, algorithm, digest)
    cert = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": sig_alg, "signature_value": signature}
    )
    return bytes(cert.dump())


def new_key_id(kind: str, now: dt.datetime) -> str:
    return f"conf-{kind}-{now.astimezone(dt.timezone.utc):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def create_signing_key(
    registry: Registry,
    token: SoftToken,
    kind: str,
    *,
    now: dt.datetime,
    activate: bool,
    key_type: KeyType = KeyType.RSA2048,
) -> str:
    """Generate a key in the token, certify it and register it (pending or active); returns its id.

    If the registry refuses the key (e.g. wrong kind) the generated key file stays
    in the token unused; it signs nothing and is harmless.
    """
    if kind not in ("internal", "external"):
        raise ValueError("kind must be internal or external")
    instance = registry.instance
    key_id = new_key_id(kind, now)
    token.generate(key_id, key_type)
    cert = self_signed_certificate(token, key_id, f"{instance} {kind} configuration signing key", now=now)
    registry.add_signing_key(key_id, kind, cert, status="active" if activate else "pending")
    return key_id
