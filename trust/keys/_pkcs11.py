"""A PKCS#11 token (a hardware security module, a smart card, SoftHSM2) behind the same ``Signer``.

Operators who must keep signing keys in certified hardware point sild at their
vendor's PKCS#11 library and a token label; everything else sees the same
``sign(key_id, algorithm, digest)`` as with the :class:`~trust.keys._token.SoftToken`.
The private keys are generated inside the token as sensitive, non-extractable
objects and never leave it: only digests go in and signatures come out.

The interface speaks python-pkcs11 (an optional dependency, the ``hsm`` extra), loaded
only when a PKCS#11 token is opened, so a soft-token deployment needs no native
library. A key id is both the object's ``CKA_LABEL`` and its ``CKA_ID``, so the
token's own tools (``pkcs11-tool``, ``softhsm2-util``) show the names sild uses.

Digests are signed with the raw mechanisms (``CKM_RSA_PKCS`` over a DigestInfo,
``CKM_ECDSA`` over the digest), because sild computes its digests itself (the XAdES
and JWS code hashes what it signs). The token returns ECDSA as raw ``r||s``; the
``Signer`` contract is DER (RFC 3279), which :func:`ecdsa_raw_to_der` gives, and the
XML-DSig code turns it back to raw as it does for the soft token.

One session serves all calls, behind a lock: a PKCS#11 session runs one operation at a
time, and the login state of a token is shared by all sessions of the process
anyway (two ``Pkcs11Token`` objects of one process share one login). A process that forks must open its own token after the fork (PKCS#11
libraries are not fork-safe).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asn1crypto import algos as asn1_algos
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ._algorithms import DigestAlgorithm, SignatureAlgorithm
from ._token import KeyType, PublicKey, _check_digest, _KEY_ID, ecdsa_raw_to_der
from trust.errors import KeyError_, KeyNotFound, TrustError, UnsupportedAlgorithm, WrongPin

if TYPE_CHECKING:
    import pkcs11

PKCS11_MISSING = "PKCS#11 tokens need python-pkcs11: pip install 'sild[hsm]'"

_CURVES = {KeyType.EC_P256: "secp256r1", KeyType.EC_P384: "secp384r1"}
_RSA_BITS = {KeyType.RSA2048: 2048, KeyType.RSA3072: 3072}
# DigestInfo algorithm names (RFC 8017 section 9.2) of the digests sild signs with
_DIGEST_INFO = {DigestAlgorithm.SHA256: "sha256", DigestAlgorithm.SHA512: "sha512"}


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise KeyError_(PKCS11_MISSING, code="trust.key.pkcs11_missing") from None
    return pkcs11


def digest_info(algorithm: DigestAlgorithm, digest: bytes) -> bytes:
    """The DER ``DigestInfo`` that PKCS#1 v1.5 pads and signs (``CKM_RSA_PKCS`` wants it built)."""
    return asn1_algos.DigestInfo({  # type: ignore[no-any-return]
        "digest_algorithm": {"algorithm": _DIGEST_INFO[algorithm]},
        "digest": digest,
    }).dump()


class Pkcs11Token:
    """Keys in a PKCS#11 token, found by token label; logged in with the user PIN.

    Without a PIN the token is opened logged out: keys can be listed and their public
    halves read, but signing and generation need :meth:`login`.
    """

    def __init__(self, library: Path | str, token_label: str, pin: str | None = None) -> None:
        self.library = str(library)
        self.token_label = token_label
        self._lock = threading.RLock()
        self._session: pkcs11.Session | None = None
        self._logged_in = False
        self._public: dict[str, PublicKey] = {}
        self._private: dict[str, Any] = {}  # key id -> private key object of the current session
        lib = self._lib()
        try:
            self._token = lib.get_token(token_label=token_label)
        except Exception as exc:  # NoSuchToken / MultipleTokensReturned of python-pkcs11
            raise KeyError_(f"no PKCS#11 token labelled {token_label!r} in {self.library}",
                            code="trust.key.no_token") from exc
        if pin is not None:
            self.login(pin)

    def _lib(self) -> Any:
        pkcs11 = _pkcs11()
        if not Path(self.library).is_file():
            raise KeyError_(f"no PKCS#11 library at {self.library}", code="trust.key.no_library")
        try:
            return pkcs11.lib(self.library)
        except Exception as exc:  # a library that is not PKCS#11 or fails to initialise
            raise KeyError_(f"cannot load PKCS#11 library {self.library}: {exc}",
                            code="trust.key.no_library") from exc

    def __repr__(self) -> str:
        return f"Pkcs11Token({self.library!r}, {self.token_label!r})"

    # -- session and login --------------------------------------------------
    @property
    def logged_in(self) -> bool:
        return self._logged_in

    def login(self, pin: str) -> None:
        """Log in with the user PIN (a wrong PIN raises :class:`WrongPin`, and counts on the token)."""
        pkcs11 = _pkcs11()
        if not pin:
            raise WrongPin("the token PIN must not be empty")
        with self._lock:
            self._close()
            try:
                self._session = self._token.open(rw=True, user_pin=pin)
            except (pkcs11.PinIncorrect, pkcs11.PinLenRange) as exc:
                raise WrongPin(f"wrong PIN for PKCS#11 token {self.token_label!r}") from exc
            except pkcs11.PinLocked as exc:
                raise WrongPin(f"the PIN of PKCS#11 token {self.token_label!r} is locked") from exc
            except pkcs11.UserAlreadyLoggedIn:
                # PKCS#11 logs in the process, not the session: another Pkcs11Token of this
                # process holds the login, and this session shares it (its logout ends both)
                self._session = self._token.open(rw=True)
            self._logged_in = True

    def logout(self) -> None:
        with self._lock:
            self._close()

    def close(self) -> None:
        self.logout()

    def _close(self) -> None:
        self._private = {}
        if self._session is not None:
            session, self._session, self._logged_in = self._session, None, False
            session.close()

    def _open(self) -> Any:
        """The session: logged in, or (for reading public objects) a fresh read-only one."""
        if self._session is None:
            self._session = self._token.open(rw=False)
        return self._session

    def _need_login(self) -> Any:
        if not self._logged_in:
            raise KeyError_(f"PKCS#11 token {self.token_label!r} is logged out; log in with its PIN",
                            code="trust.key.logged_out")
        return self._open()

    # -- keys -----------------------------------------------------------------
    def _find(self, session: Any, object_class: Any, key_id: str) -> Any:
        pkcs11 = _pkcs11()
        if not _KEY_ID.match(key_id):
            raise KeyNotFound(f"invalid key id {key_id!r}")
        try:
            return session.get_key(object_class=object_class, label=key_id, id=key_id.encode())
        except pkcs11.NoSuchKey:
            raise KeyNotFound(f"no key {key_id!r} in PKCS#11 token {self.token_label!r}") from None
        except pkcs11.MultipleObjectsReturned:
            raise KeyError_(f"more than one key {key_id!r} in PKCS#11 token {self.token_label!r}",
                            code="trust.key.ambiguous") from None

    def key_ids(self) -> list[str]:
        pkcs11 = _pkcs11()
        with self._lock:
            objects = self._open().get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PUBLIC_KEY})
            return sorted({o.label for o in objects if _KEY_ID.match(o.label or "")})

    def has_key(self, key_id: str) -> bool:
        return key_id in self.key_ids()

    def generate(self, key_id: str, key_type: KeyType = KeyType.RSA2048) -> PublicKey:
        """Generate a key pair inside the token; refuses to overwrite an existing key."""
        pkcs11 = _pkcs11()
        from pkcs11.util.ec import encode_named_curve_parameters

        attr = pkcs11.Attribute
        with self._lock:
            session = self._need_login()
            if not _KEY_ID.match(key_id):
                raise KeyNotFound(f"invalid key id {key_id!r}")
            if self.has_key(key_id):
                raise TrustError(f"key {key_id!r} already exists", code="trust.key.exists")
            private = {attr.SENSITIVE: True, attr.EXTRACTABLE: False, attr.PRIVATE: True, attr.TOKEN: True}
            common: dict[str, Any] = {"id": key_id.encode(), "label": key_id, "store": True,
                                      "capabilities": pkcs11.MechanismFlag.SIGN | pkcs11.MechanismFlag.VERIFY,
                                      "private_template": private}
            if key_type in _RSA_BITS:
                session.generate_keypair(pkcs11.KeyType.RSA, _RSA_BITS[key_type], **common)
            elif key_type in _CURVES:
                params = session.create_domain_parameters(
                    pkcs11.KeyType.EC, {attr.EC_PARAMS: encode_named_curve_parameters(_CURVES[key_type])}, local=True)
                params.generate_keypair(**common)
            else:  # pragma: no cover - every KeyType is in one of the tables
                raise UnsupportedAlgorithm(f"PKCS#11 tokens cannot generate {key_type.value}")
            return self.public_key(key_id)

    def delete(self, key_id: str) -> None:
        """Destroy the key pair in the token (irreversible: the token keeps no copy)."""
        pkcs11 = _pkcs11()
        with self._lock:
            session = self._need_login()
            private = self._find(session, pkcs11.ObjectClass.PRIVATE_KEY, key_id)
            public = self._find(session, pkcs11.ObjectClass.PUBLIC_KEY, key_id)
            private.destroy()
            public.destroy()
            self._public.pop(key_id, None)
            self._private.pop(key_id, None)

    # -- Signer -----------------------------------------------------------------
    def public_key(self, key_id: str) -> PublicKey:
        cached = self._public.get(key_id)
        if cached is not None:
            return cached
        pkcs11 = _pkcs11()
        from pkcs11.util.ec import encode_ec_public_key
        from pkcs11.util.rsa import encode_rsa_public_key

        with self._lock:
            obj = self._find(self._open(), pkcs11.ObjectClass.PUBLIC_KEY, key_id)
            if obj.key_type == pkcs11.KeyType.RSA:
                public: Any = serialization.load_der_public_key(
                    _rsa_spki(encode_rsa_public_key(obj)))
            elif obj.key_type == pkcs11.KeyType.EC:
                public = serialization.load_der_public_key(encode_ec_public_key(obj))
            else:
                raise UnsupportedAlgorithm(f"key {key_id!r} is neither RSA nor EC")
        if not isinstance(public, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):  # pragma: no cover
            raise UnsupportedAlgorithm(f"key {key_id!r} is neither RSA nor EC")
        self._public[key_id] = public
        return public

    def sign(self, key_id: str, algorithm: SignatureAlgorithm, digest: bytes) -> bytes:
        pkcs11 = _pkcs11()
        _check_digest(algorithm, digest)
        with self._lock:
            key = self._private.get(key_id)
            if key is None:  # found once per session: the search costs more than an EC signature
                key = self._private[key_id] = self._find(self._need_login(), pkcs11.ObjectClass.PRIVATE_KEY, key_id)
            is_ec = key.key_type == pkcs11.KeyType.EC
            if is_ec != algorithm.is_ecdsa:
                needed, kind = ("an RSA", "EC") if is_ec else ("an EC", "RSA")
                raise UnsupportedAlgorithm(f"{algorithm.name} needs {needed} key, the key is {kind}")
            try:
                if is_ec:
                    return ecdsa_raw_to_der(key.sign(digest, mechanism=pkcs11.Mechanism.ECDSA))
                return key.sign(digest_info(algorithm.digest, digest),  # type: ignore[no-any-return]
                                mechanism=pkcs11.Mechanism.RSA_PKCS)
            except pkcs11.PKCS11Error as exc:
                raise KeyError_(f"PKCS#11 token {self.token_label!r} failed to sign with {key_id!r}: "
                                f"{type(exc).__name__}", code="trust.key.pkcs11_failed") from exc

    def default_algorithm(self, key_id: str, digest: DigestAlgorithm = DigestAlgorithm.SHA512) -> SignatureAlgorithm:
        return SignatureAlgorithm.for_key(self.public_key(key_id), digest)


def _rsa_spki(pkcs1: bytes) -> bytes:
    """Wrap a PKCS#1 ``RSAPublicKey`` (what python-pkcs11 encodes) in a SubjectPublicKeyInfo."""
    from asn1crypto import keys as asn1_keys

    return asn1_keys.PublicKeyInfo({  # type: ignore[no-any-return]
        "algorithm": {"algorithm": "rsa"},
        "public_key": asn1_keys.RSAPublicKey.load(pkcs1),
    }).dump()
