"""Trusting a signed directory: its signature, its expiry, and every part it pins.

:func:`verify_directory` follows X-Road's client: the signature is checked with
the certificate the anchor lists under ``Verification-certificate-hash``, then the
expiry, then every part's bytes against the hash in the signed bytes, then every
known part against its schema. Each part's instance is checked too, since a
partner's external directory may not redefine someone else's parameters.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Iterable, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from trust.errors import TrustError
from trust.keys import verify_digest

from federation.model import (
    FETCHINTERVAL, MONITORING, NEXTUPDATE, PRIVATE_PARAMETERS, SHARED_PARAMETERS, ConfigurationAnchor,
    ParametersModel, PrivateParameters, SharedParameters, load_certificate,
)
from federation.model import (
    ConfBadSignature, ConfError, ConfExpired, ConfHashMismatch, ConfInstanceMismatch, ConfMissingPart,
    ConfSchemaInvalid, ConfUnknownVerificationCert,
)
from federation.model import (
    parse_fetch_interval_parameters, parse_monitoring_parameters, parse_next_update_parameters,
    parse_private_parameters, parse_shared_parameters,
)

from ._parse import parse_directory
from ._values import DirectoryPart, FetchPart, SignedDirectory, VerifiedConfiguration, VerifiedPart, _aware

AnchorOrCerts: TypeAlias = ConfigurationAnchor | Iterable[x509.Certificate | bytes]


def _candidate_certs(anchor_or_certs: AnchorOrCerts) -> list[bytes]:
    if isinstance(anchor_or_certs, ConfigurationAnchor):
        return list(anchor_or_certs.verification_certs())
    out = []
    for cert in anchor_or_certs:
        out.append(cert.public_bytes(serialization.Encoding.DER) if isinstance(cert, x509.Certificate) else bytes(cert))
    return out


def parse_part(content_identifier: str, data: bytes, version: int) -> ParametersModel | None:
    """Parse a part's verified bytes into its model; ``None`` for unknown identifiers."""
    if content_identifier == SHARED_PARAMETERS:
        return parse_shared_parameters(data, version=version)
    if content_identifier == PRIVATE_PARAMETERS:
        return parse_private_parameters(data, version=version)
    if content_identifier == MONITORING:
        return parse_monitoring_parameters(data)
    if content_identifier == FETCHINTERVAL:
        return parse_fetch_interval_parameters(data)
    if content_identifier == NEXTUPDATE:
        return parse_next_update_parameters(data)
    return None


def verify_signature(directory: SignedDirectory, anchor_or_certs: AnchorOrCerts) -> x509.Certificate:
    """Check the directory's signature; return the certificate that made it."""
    chosen: bytes | None = None
    for der in _candidate_certs(anchor_or_certs):
        if directory.verification_cert_hash_algorithm.digest(der) == directory.verification_cert_hash:
            chosen = der
            break
    if chosen is None:
        raise ConfUnknownVerificationCert(
            "the directory was signed with a certificate the anchor does not list "
            f"(Verification-certificate-hash {base64.b64encode(directory.verification_cert_hash).decode()[:24]}...)"
        )
    try:
        cert = load_certificate(chosen, what="verification certificate")
    except ConfSchemaInvalid as exc:
        raise ConfUnknownVerificationCert(str(exc)) from exc
    public_key = cert.public_key()
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        raise ConfBadSignature(f"verification key is RSA-{public_key.key_size}; at least 2048 bits are required")
    if not isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise ConfBadSignature("verification key is neither RSA nor EC")
    digest = directory.signature_algorithm.digest.digest(directory.signed_bytes)
    if not verify_digest(public_key, directory.signature_algorithm, digest, directory.signature):
        raise ConfBadSignature("the directory signature does not verify with the verification certificate")
    return cert


def verify_directory(
    data: bytes,
    anchor_or_certs: AnchorOrCerts,
    *,
    at: dt.datetime,
    fetch_part: FetchPart | None = None,
    instance: str | None = None,
    parts: dict[str, bytes] | None = None,
) -> VerifiedConfiguration:
    """Verify a signed directory and its parts; return what was verified.

    Order (as X-Road's client): signature with the certificate that
    ``Verification-certificate-hash`` names among the anchor's (or the given)
    certificates -> expiry at ``at`` -> every part's bytes against its hash ->
    every known part against its schema. Parts are obtained by ``fetch_part(location)``
    (or taken from ``parts``, a mapping location -> bytes, e.g. unchanged files kept
    from the last download). ``instance`` (default: the anchor's) is the instance
    whose configuration this must be; ``SHARED-PARAMETERS``/``PRIVATE-PARAMETERS``
    of another instance are refused, since a partner's external directory may not
    redefine someone else.
    """
    _aware(at)
    directory = parse_directory(data)
    cert = verify_signature(directory, anchor_or_certs)
    if at >= directory.expire_date:
        raise ConfExpired(f"configuration expired at {directory.expire_date.isoformat()} (checked at {at.isoformat()})")
    expected = _expected_instance(directory, anchor_or_certs, instance)
    verified: list[VerifiedPart] = []
    for entry in directory.parts:
        content = _part_bytes(entry, parts, fetch_part)
        if entry.hash_algorithm.digest(content) != entry.digest:
            raise ConfHashMismatch(
                f"part {entry.content_identifier} ({entry.location}) does not match the hash in the signed directory"
            )
        model = parse_part(entry.content_identifier, content, directory.version)
        _check_part_instance(entry, model, expected)
        verified.append(VerifiedPart(entry.content_identifier, entry.instance, entry.location, content, model))
    if not any(p.content_identifier == SHARED_PARAMETERS and p.instance in (expected, None) for p in verified):
        raise ConfMissingPart(f"directory has no SHARED-PARAMETERS of instance {expected!r}")
    return VerifiedConfiguration(
        instance=expected,
        version=directory.version,
        expires_at=directory.expire_date,
        parts=tuple(verified),
        directory_bytes=directory.raw,
        verification_cert=cert,
    )


def _expected_instance(directory: SignedDirectory, anchor_or_certs: AnchorOrCerts, instance: str | None) -> str:
    """The instance the directory must belong to: given, the anchor's, or the one its parts claim."""
    expected = instance or (anchor_or_certs.instance if isinstance(anchor_or_certs, ConfigurationAnchor) else None)
    if expected is not None:
        return expected
    claimed = {
        p.instance for p in directory.parts if p.instance and p.content_identifier in (SHARED_PARAMETERS, PRIVATE_PARAMETERS)
    }
    if len(claimed) != 1:
        raise ConfInstanceMismatch("cannot tell which instance the directory belongs to; pass instance=")
    return next(iter(claimed))


def _part_bytes(entry: DirectoryPart, parts: dict[str, bytes] | None, fetch_part: FetchPart | None) -> bytes:
    """A part's bytes: from ``parts`` when kept from the last download, else fetched."""
    content = None
    if parts is not None:
        content = parts.get(entry.location)
    if content is not None:
        return content
    if fetch_part is None:
        raise ConfMissingPart(f"part {entry.content_identifier} at {entry.location} was not provided")
    try:
        return fetch_part(entry.location)
    except ConfError:
        raise
    except (OSError, TrustError) as exc:
        raise ConfMissingPart(f"cannot obtain part {entry.content_identifier} at {entry.location}: {exc}") from exc


def _check_part_instance(entry: DirectoryPart, model: ParametersModel | None, expected: str) -> None:
    """Shared and private parameters hold the instance their entry names, and it is ``expected``."""
    if not isinstance(model, (SharedParameters, PrivateParameters)):
        return
    if entry.instance is not None and model.instance != entry.instance:
        raise ConfInstanceMismatch(
            f"part {entry.content_identifier} claims instance {entry.instance!r} but holds {model.instance!r}"
        )
    if model.instance != expected:
        raise ConfInstanceMismatch(
            f"{entry.content_identifier} of {model.instance!r} in the directory of {expected!r}: "
            "an instance may publish only its own parameters"
        )
