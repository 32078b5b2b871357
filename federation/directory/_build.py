"""Writing a signed directory: the central server's side of :mod:`._parse`.

The parameter files are hashed, not embedded; the inner multipart is written with
CRLF line endings, as X-Road writes it, signed over its exact bytes, and wrapped in
the outer multipart beside the signature part.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from typing import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trust.keys import DigestAlgorithm, SignatureAlgorithm, Signer

from federation.model import SUPPORTED_VERSIONS, ConfMalformed

from ._values import DEFAULT_HASH, DirectoryEntry, _aware

_BOUNDARY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _boundary() -> str:
    return "".join(secrets.choice(_BOUNDARY_CHARS) for _ in range(20))


def _format_time(moment: dt.datetime) -> str:
    _aware(moment)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_directory(
    entries: Sequence[DirectoryEntry],
    *,
    expire_date: dt.datetime,
    version: int,
    signer: Signer,
    key_id: str,
    cert: x509.Certificate,
    algorithm: SignatureAlgorithm | None = None,
    hash_algorithm: DigestAlgorithm = DEFAULT_HASH,
    boundaries: tuple[str, str] | None = None,
) -> bytes:
    """Build and sign a directory over ``entries`` (their bytes are hashed, not embedded).

    ``signer.sign(key_id, algorithm, digest)`` signs the SHA-512 (or the algorithm's)
    digest of the inner body; ``cert`` is the certificate of that key, which the
    anchor lists (its SHA-512 goes into ``Verification-certificate-hash``).
    ``algorithm`` defaults to RSA-SHA512 or ECDSA-SHA512 by key type. CRLF line
    endings throughout, as X-Road writes them. Publish the parameter files at the
    entries' locations, relative to where the directory itself is served.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ConfMalformed(f"cannot build a directory of version {version}")
    if algorithm is None:
        algorithm = SignatureAlgorithm.for_key(cert.public_key(), DigestAlgorithm.SHA512)
    outer, inner = boundaries or (_boundary(), _boundary())
    crlf = "\r\n"
    lines = [f"--{inner}", f"Expire-date: {_format_time(expire_date)}"]
    if version > 2:
        lines.append(f"Version: {version}")
    lines.append("")
    for entry in entries:
        ident = entry.content_identifier + (f"; instance='{entry.instance}'" if entry.instance else "")
        lines += [
            f"--{inner}",
            "Content-type: application/octet-stream",
            "Content-transfer-encoding: base64",
            f"Content-identifier: {ident}",
            f"Content-location: {entry.location}",
            f"Hash-algorithm-id: {hash_algorithm.value}",
            "",
            base64.b64encode(hash_algorithm.digest(entry.data)).decode("ascii"),
        ]
    lines.append(f"--{inner}--")
    signed = (crlf.join(lines) + crlf).encode("utf-8")
    signature = signer.sign(key_id, algorithm, algorithm.digest.digest(signed))
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    cert_hash = base64.b64encode(hashlib.sha512(cert_der).digest()).decode("ascii")
    head = (
        f"Content-Type: multipart/related; charset=UTF-8; boundary={outer}{crlf}{crlf}"
        f"--{outer}{crlf}"
        f"Content-Type: multipart/mixed; charset=UTF-8; boundary={inner}{crlf}{crlf}"
    ).encode("utf-8")
    tail = (
        f"{crlf}--{outer}{crlf}"
        f"Content-Type: application/octet-stream{crlf}"
        f"Content-Transfer-Encoding: base64{crlf}"
        f"Signature-Algorithm-Id: {algorithm.value}{crlf}"
        f'Verification-certificate-hash: {cert_hash}; hash-algorithm-id="{DigestAlgorithm.SHA512.value}"{crlf}'
        f"{crlf}"
        f"{base64.b64encode(signature).decode('ascii')}{crlf}"
        f"--{outer}--{crlf}"
    ).encode("utf-8")
    return head + signed + tail