"""Keys stay behind a narrow :class:`Signer` interface.

A ``Signer`` signs a digest that the caller has already computed:
``sign(key_id, algorithm, digest)``. That is the shape of a PKCS#11 token or an HSM
(the key never leaves it, only digests go in), so the same code works with the file
based :class:`SoftToken` used in development and small deployments and with a
hardware token later. Private key objects never cross a package boundary: code in
``federation``, ``gateway`` and ``adapters`` holds a ``Signer`` and a key id, nothing
more. The few operations that need the key itself (TLS contexts, certificate
issuance) live in ``trust`` and call the token's private methods.

ECDSA signatures come out DER-encoded as RFC 3279 requires (global configuration,
X.509, OCSP); XML-DSig wants raw ``r||s``, which :func:`ecdsa_der_to_raw` gives.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from ._algorithms import DigestAlgorithm, SignatureAlgorithm
from trust.errors import KeyError_, KeyNotFound, TrustError, UnsupportedAlgorithm, WrongPin
from trust.infra import write_atomic as write_atomic

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class KeyType(enum.Enum):
    RSA2048 = "rsa2048"
    RSA3072 = "rsa3072"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"

    def generate(self) -> PrivateKey:
        if self is KeyType.RSA2048:
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if self is KeyType.RSA3072:
            return rsa.generate_private_key(public_exponent=65537, key_size=3072)
        if self is KeyType.EC_P256:
            return ec.generate_private_key(ec.SECP256R1())
        return ec.generate_private_key(ec.SECP384R1())


@runtime_checkable
class Signer(Protocol):
    """Signs a precomputed digest with a key it holds; the key never leaves it."""

    def sign(self, key_id: str, algorithm: SignatureAlgorithm, digest: bytes) -> bytes:
        """Return the signature (PKCS#1 v1.5 for RSA, DER for ECDSA) over ``digest``."""
        ...

    def public_key(self, key_id: str) -> PublicKey:
        ...


# The parameter objects cryptography wants per call are immutable; one per algorithm
# saves their construction on every signature (the hot path of every exchange).
_PREHASHED = {alg: utils.Prehashed(alg.digest.hash_class()) for alg in SignatureAlgorithm}
_ECDSA = {alg: ec.ECDSA(_PREHASHED[alg]) for alg in SignatureAlgorithm if alg.is_ecdsa}
_PKCS1V15 = padding.PKCS1v15()


def _check_digest(algorithm: SignatureAlgorithm, digest: bytes) -> None:
    expected = _PREHASHED[algorithm].digest_size
    if len(digest) != expected:
        raise TrustError(
            f"digest for {algorithm.name} must be {expected} bytes, got {len(digest)}",
            code="trust.key.bad_digest",
        )


def sign_digest(key: PrivateKey, algorithm: SignatureAlgorithm, digest: bytes) -> bytes:
    """Sign a precomputed digest with a private key object (used by token implementations)."""
    _check_digest(algorithm, digest)
    ecdsa = _ECDSA.get(algorithm)  # None: an RSA algorithm
    if isinstance(key, rsa.RSAPrivateKey):
        if ecdsa is not None:
            raise UnsupportedAlgorithm(f"{algorithm.name} needs an EC key, the key is RSA")
        return key.sign(digest, _PKCS1V15, _PREHASHED[algorithm])
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if ecdsa is None:
            raise UnsupportedAlgorithm(f"{algorithm.name} needs an RSA key, the key is EC")
        return key.sign(digest, ecdsa)
    raise UnsupportedAlgorithm(f"unsupported key type {type(key).__name__}")


def verify_digest(public_key: object, algorithm: SignatureAlgorithm, digest: bytes, signature: bytes) -> bool:
    """True when ``signature`` (PKCS#1 v1.5 or DER ECDSA) is valid over ``digest``."""
    ecdsa = _ECDSA.get(algorithm)  # None: an RSA algorithm
    try:
        if ecdsa is None:
            if isinstance(public_key, rsa.RSAPublicKey):
                public_key.verify(signature, digest, _PKCS1V15, _PREHASHED[algorithm])
                return True
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, digest, ecdsa)
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def ecdsa_der_to_raw(signature: bytes, curve_bits: int) -> bytes:
    """DER ``SEQUENCE{r, s}`` to the fixed-length ``r||s`` of XML-DSig (RFC 4050)."""
    r, s = utils.decode_dss_signature(signature)
    size = (curve_bits + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def ecdsa_raw_to_der(signature: bytes) -> bytes:
    """Fixed-length ``r||s`` to DER; the halves must have equal length."""
    if len(signature) % 2 or not signature:
        raise TrustError("raw ECDSA signature has odd length", code="trust.signature.malformed")
    half = len(signature) // 2
    return utils.encode_dss_signature(
        int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
    )


class SoftToken:
    """A directory of PKCS#8 private keys, each encrypted with the token PIN.

    ``<dir>/<key_id>.key.pem`` holds one key. Files are written atomically (temp file,
    fsync, rename) with mode 0600, so a crash never leaves a half-written key.
    """

    def __init__(self, directory: Path | str, pin: str) -> None:
        if not pin:
            raise WrongPin("the token PIN must not be empty")
        self.directory = Path(directory)
        self._pin: bytes | None = pin.encode("utf-8")
        self._cache: dict[str, PrivateKey] = {}

    # -- login, the same words as a PKCS#11 token -----------------------------
    @property
    def logged_in(self) -> bool:
        return self._pin is not None

    def login(self, pin: str) -> None:
        """Take the PIN, checked on one key now (a wrong PIN raises :class:`WrongPin`)."""
        if not pin:
            raise WrongPin("the token PIN must not be empty")
        self._pin, self._cache = pin.encode("utf-8"), {}
        ids = self.key_ids()
        if ids:
            try:
                self._private_key(ids[0])
            except WrongPin:
                self._pin = None
                raise

    def logout(self) -> None:
        """Forget the PIN and every decrypted key; signing needs :meth:`login` again."""
        self._pin, self._cache = None, {}

    def _need_pin(self) -> bytes:
        if self._pin is None:
            raise KeyError_(f"token {self.directory} is logged out; log in with its PIN", code="trust.key.logged_out")
        return self._pin

    def delete(self, key_id: str) -> None:
        """Remove the key file (irreversible: keep a backup of the token if it may be needed)."""
        path = self._path(key_id)
        if not path.is_file():
            raise KeyNotFound(f"no key {key_id!r} in token {self.directory}")
        path.unlink()
        self._cache.pop(key_id, None)

    # -- management -------------------------------------------------------
    def _path(self, key_id: str) -> Path:
        if not _KEY_ID.match(key_id):
            raise KeyNotFound(f"invalid key id {key_id!r}")
        return self.directory / f"{key_id}.key.pem"

    def key_ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name[: -len(".key.pem")] for p in self.directory.glob("*.key.pem"))

    def has_key(self, key_id: str) -> bool:
        return self._path(key_id).is_file()

    def generate(self, key_id: str, key_type: KeyType = KeyType.RSA2048) -> PublicKey:
        """Create a new key; refuses to overwrite an existing one."""
        path = self._path(key_id)
        if path.exists():
            raise TrustError(f"key {key_id!r} already exists", code="trust.key.exists")
        key = key_type.generate()
        self._store(path, key)
        self._cache[key_id] = key
        return key.public_key()

    def import_key(self, key_id: str, key: PrivateKey) -> None:
        """Store an existing key object (only ``trust`` code holds key objects)."""
        path = self._path(key_id)
        if path.exists():
            raise TrustError(f"key {key_id!r} already exists", code="trust.key.exists")
        self._store(path, key)
        self._cache[key_id] = key

    def _store(self, path: Path, key: PrivateKey) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._need_pin()),
        )
        write_atomic(path, pem, mode=0o600)

    def _private_key(self, key_id: str) -> PrivateKey:
        key = self._cache.get(key_id)
        if key is not None:
            return key
        path = self._path(key_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyNotFound(f"no key {key_id!r} in token {self.directory}") from None
        try:
            loaded = serialization.load_pem_private_key(data, password=self._need_pin())
        except (ValueError, TypeError) as exc:
            raise WrongPin(f"cannot open key {key_id!r}: wrong PIN or damaged key file") from exc
        if not isinstance(loaded, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise UnsupportedAlgorithm(f"key {key_id!r} is neither RSA nor EC")
        self._cache[key_id] = loaded
        return loaded

    def key_file(self, key_id: str) -> tuple[Path, str]:
        """Path of the encrypted key file and its passphrase, for ``ssl.load_cert_chain``."""
        path = self._path(key_id)
        if not path.is_file():
            raise KeyNotFound(f"no key {key_id!r} in token {self.directory}")
        self._private_key(key_id)  # checks the PIN now rather than inside the TLS stack
        return path, self._need_pin().decode("utf-8")

    # -- Signer -----------------------------------------------------------
    def public_key(self, key_id: str) -> PublicKey:
        return self._private_key(key_id).public_key()

    def sign(self, key_id: str, algorithm: SignatureAlgorithm, digest: bytes) -> bytes:
        return sign_digest(self._private_key(key_id), algorithm, digest)

    def default_algorithm(self, key_id: str, digest: DigestAlgorithm = DigestAlgorithm.SHA512) -> SignatureAlgorithm:
        return SignatureAlgorithm.for_key(self.public_key(key_id), digest)

