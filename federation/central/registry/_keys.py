"""Configuration signing keys of the governing authority, and their rotation.

The internal and the external configuration are each signed with their own key, held
in a :class:`trust.keys.SoftToken` (``DIR/token``) or a PKCS#11 token (``pkcs11`` in
``central.json``). A gateway finds the verification
key through the certificate listed in its anchor and in the shared parameters'
``source`` elements; X-Road uses these certificates only as public-key holders, so a
self-signed certificate is enough. It is built by :func:`trust.pki.self_signed_certificate`
through the :class:`~trust.keys.Signer` interface (only a digest goes to the token; the
private key never leaves it).

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
import secrets

from cryptography import x509
from cryptography.x509.oid import NameOID

from trust.keys import DigestAlgorithm, KeyType, Pkcs11Token, SoftToken
from trust.pki import self_signed_certificate

from ._registry import Registry

CERT_VALIDITY = dt.timedelta(days=365 * 20)


def signing_key_certificate(token: SoftToken | Pkcs11Token, key_id: str, common_name: str, *, now: dt.datetime) -> bytes:
    """DER of the self-signed certificate of a configuration signing key (a public-key holder)."""
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    return self_signed_certificate(
        token, key_id, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
        not_before=now - dt.timedelta(hours=1), not_after=now + CERT_VALIDITY, digest=DigestAlgorithm.SHA512,
        key_usage={"digital_signature"}, subject_key_identifier=True,
    )


def new_key_id(kind: str, now: dt.datetime) -> str:
    return f"conf-{kind}-{now.astimezone(dt.timezone.utc):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def create_signing_key(
    registry: Registry,
    token: SoftToken | Pkcs11Token,
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
    cert = signing_key_certificate(token, key_id, f"{instance} {kind} configuration signing key", now=now)
    registry.add_signing_key(key_id, kind, cert, status="active" if activate else "pending")
    return key_id
