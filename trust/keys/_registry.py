"""The tokens of one node and what it knows of their keys: one model for soft and PKCS#11 tokens.

X-Road's security server shows its operator tokens, each with keys, each key with a
usage (authentication or signing), a label, a state and its certificates; the
operator logs tokens in and out, generates keys, makes certificate requests, imports
certificates, and disables or deletes keys and certificates. :class:`KeyRegistry` is
that model, whatever the token is: the soft token (always there, named ``soft``) and
any PKCS#11 tokens added to it. A token itself only keeps key pairs; the registry
keeps the rest in ``DIR/keys.json`` and the certificates in ``DIR/certs/``:

* usage, label, state and (for sign keys) the member of each key, and its public key,
  so that listing and matching certificates work while a token is logged out;
* each certificate (PEM, leaf first, then its chain) by SHA-256 fingerprint, with
  its state.

The registry is itself a :class:`~trust.keys.Signer`: it routes ``sign`` to the token
holding the key and refuses a disabled key, so disabling a key stops its use in the
running node. Authentication keys stay in the soft token: Python's TLS stack loads the
private key itself (``ssl.load_cert_chain``) and cannot reach into a PKCS#11 token.

A renewal (:meth:`KeyRegistry.renew`) makes a new key by default: a compromised or
ageing key is replaced, not recertified. The file is rewritten atomically on every
change and read again on every call, so a CLI command and a running node see one state.
"""

from __future__ import annotations

import copy
import enum
import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ._algorithms import SignatureAlgorithm
from ._csr import make_csr
from ._pkcs11 import Pkcs11Token
from ._token import _KEY_ID, KeyType, PublicKey, SoftToken
from trust.errors import KeyError_, KeyNotFound, TrustError
from trust.infra import write_atomic

SOFT = "soft"
REGISTRY_FILE = "keys.json"
_TOKEN_NAME = _KEY_ID
MAX_CERTIFICATE_BYTES = 256 * 1024  # a leaf and its chain; anything larger is not a certificate file

Token = SoftToken | Pkcs11Token


class KeyUsage(enum.Enum):
    AUTH = "auth"  # TLS between gateways (X-Road's authentication certificate)
    SIGN = "sign"  # message signatures of a member (X-Road's signing certificate)


class KeyState(enum.Enum):
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True)
class CertInfo:
    id: str  # SHA-256 fingerprint of the leaf, hex
    key_id: str
    state: KeyState
    subject: str
    issuer: str
    serial: int
    not_before: str
    not_after: str


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    token: str
    usage: KeyUsage | None  # None: a key the registry never recorded (e.g. internal TLS)
    label: str
    algorithm: str  # a KeyType value, or "?" while its token is logged out and it was never recorded
    state: KeyState
    member: str | None
    certificates: tuple[CertInfo, ...]


@dataclass(frozen=True)
class TokenInfo:
    name: str
    kind: str  # "soft" or "pkcs11"
    logged_in: bool
    keys: tuple[KeyInfo, ...]


def key_type_of(public: PublicKey) -> KeyType:
    if isinstance(public, rsa.RSAPublicKey):
        return {2048: KeyType.RSA2048, 3072: KeyType.RSA3072}.get(public.key_size, KeyType.RSA2048)
    return KeyType.EC_P384 if public.curve.key_size == 384 else KeyType.EC_P256


def _spki(public: PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _cert_usage(cert: x509.Certificate) -> KeyUsage | None:
    """What the CA issued the certificate for, read from its keyUsage (X-Road's profiles)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if usage.content_commitment:
        return KeyUsage.SIGN
    if usage.digital_signature:
        return KeyUsage.AUTH
    return None


class KeyRegistry:
    """Tokens, keys and certificates of one node (see the module docstring)."""

    def __init__(self, directory: Path | str, soft: SoftToken) -> None:
        self.directory = Path(directory)
        self._tokens: dict[str, Token] = {SOFT: soft}
        self._cached: tuple[tuple[int, int, int], dict[str, Any]] | None = None

    # -- the file ---------------------------------------------------------------------
    def _load(self, *, for_update: bool = False) -> dict[str, Any]:
        """The file's content: parsed again only when it changed (``sign`` asks on every call).

        Readers share the cached dictionary; a change works on a copy (``for_update``)
        and writes the file, which the next call reads again.
        """
        path = self.directory / REGISTRY_FILE
        try:
            st = path.stat()
        except FileNotFoundError:
            return {"tokens": {}, "keys": {}, "certs": {}}
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if self._cached is None or self._cached[0] != stamp:
            try:
                data: dict[str, Any] = json.loads(path.read_bytes())
            except ValueError as exc:
                raise KeyError_(f"{path} is damaged: {exc}", code="trust.key.registry_damaged") from exc
            for part in ("tokens", "keys", "certs"):
                data.setdefault(part, {})
            self._cached = (stamp, data)
        return copy.deepcopy(self._cached[1]) if for_update else self._cached[1]

    def _save(self, data: dict[str, Any]) -> None:
        write_atomic(self.directory / REGISTRY_FILE, json.dumps(data, indent=2, sort_keys=True).encode(), mode=0o600)

    # -- tokens -------------------------------------------------------------------------
    def add_pkcs11_token(self, name: str, library: Path | str, label: str) -> TokenInfo:
        """Record a PKCS#11 token by library and token label (opened now to check both)."""
        if not _TOKEN_NAME.match(name) or name == SOFT:
            raise KeyError_(f"invalid token name {name!r}", code="trust.key.bad_token_name")
        data = self._load(for_update=True)
        if name in data["tokens"]:
            raise KeyError_(f"token {name!r} is already configured", code="trust.key.token_exists")
        self._tokens[name] = Pkcs11Token(library, label)
        data["tokens"][name] = {"type": "pkcs11", "library": str(library), "label": label}
        self._save(data)
        return self.token_info(name)

    def token(self, name: str) -> Token:
        token = self._tokens.get(name)
        if token is not None:
            return token
        config = self._load()["tokens"].get(name)
        if config is None:
            raise KeyError_(f"no token {name!r}", code="trust.key.no_such_token")
        token = self._tokens[name] = Pkcs11Token(config["library"], config["label"])
        return token

    def token_names(self) -> list[str]:
        return [SOFT, *sorted(self._load()["tokens"])]

    def login(self, name: str, pin: str) -> None:
        self.token(name).login(pin)

    def logout(self, name: str) -> None:
        self.token(name).logout()

    def token_info(self, name: str) -> TokenInfo:
        token = self.token(name)
        keys = tuple(k for k in self.keys() if k.token == name)
        return TokenInfo(name, "soft" if isinstance(token, SoftToken) else "pkcs11", token.logged_in, keys)

    def tokens(self) -> list[TokenInfo]:
        return [self.token_info(name) for name in self.token_names()]

    # -- keys ---------------------------------------------------------------------------
    def _where(self, key_id: str) -> tuple[str, Token]:
        """The token holding ``key_id``: the recorded one, else the first that has it."""
        recorded = self._load()["keys"].get(key_id)
        if recorded is not None:
            return recorded["token"], self.token(recorded["token"])
        for name in self.token_names():
            if self.token(name).has_key(key_id):
                return name, self.token(name)
        raise KeyNotFound(f"no key {key_id!r} in any token")

    def keys(self) -> list[KeyInfo]:
        data = self._load()
        out: list[KeyInfo] = []
        for name in self.token_names():
            token = self.token(name)
            for key_id in token.key_ids():
                out.append(self._info(data, name, token, key_id))
        return out

    def key(self, key_id: str) -> KeyInfo:
        name, token = self._where(key_id)
        if not token.has_key(key_id):
            raise KeyNotFound(f"key {key_id!r} is recorded in token {name!r} but the token does not hold it")
        return self._info(self._load(), name, token, key_id)

    def _info(self, data: dict[str, Any], name: str, token: Token, key_id: str) -> KeyInfo:
        rec = data["keys"].get(key_id, {})
        algorithm = rec.get("algorithm")
        if algorithm is None and token.logged_in:
            algorithm = key_type_of(token.public_key(key_id)).value
        usage = rec.get("usage") or {"auth": "auth", "sign": "sign"}.get(key_id.split("-", 1)[0])
        certs = tuple(self._cert_info(fp, c) for fp, c in sorted(data["certs"].items()) if c["key_id"] == key_id)
        return KeyInfo(key_id, name, KeyUsage(usage) if usage else None, rec.get("label", ""), algorithm or "?",
                       KeyState(rec.get("state", "active")), rec.get("member"), certs)

    def generate(self, token: str, usage: KeyUsage, key_type: KeyType = KeyType.RSA2048, *,
                 key_id: str | None = None, label: str = "", member: str | None = None) -> KeyInfo:
        """A new key pair made inside ``token``; its id is ``<usage>-<random>`` unless given."""
        target = self.token(token)
        if usage is KeyUsage.AUTH and not isinstance(target, SoftToken):
            raise KeyError_("authentication keys live in the soft token: the TLS stack loads the key itself "
                            "and cannot use a PKCS#11 token", code="trust.key.auth_not_on_hsm")
        if key_type not in (KeyType.RSA2048, KeyType.RSA3072, KeyType.EC_P256):
            raise KeyError_(f"keys are RSA-2048, RSA-3072 or EC P-256, not {key_type.value}",
                            code="trust.key.bad_key_type")
        data = self._load(for_update=True)
        key_id = key_id or f"{usage.value}-{secrets.token_hex(4)}"
        if key_id in data["keys"] or any(self.token(n).has_key(key_id) for n in self.token_names()):
            raise TrustError(f"key {key_id!r} already exists", code="trust.key.exists")
        public = target.generate(key_id, key_type)
        data["keys"][key_id] = {
            "token": token, "usage": usage.value, "label": label, "state": KeyState.ACTIVE.value,
            "algorithm": key_type.value, "member": member,
            "public_key": public.public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        }
        self._save(data)
        return self.key(key_id)

    def renew(self, key_id: str, *, new_key: bool = True, key_type: KeyType | None = None,
              member: str | None = None) -> KeyInfo:
        """The key to certify next: by default a new one in the same token, for the same usage and member.

        The old key stays active until the operator disables or deletes it, so the node
        keeps signing while the new certificate is on its way. ``member`` names the member
        of a sign key whose own record does not (keys made before the registry).
        """
        old = self.key(key_id)
        if not new_key:
            return old
        if old.usage is None:
            raise KeyError_(f"key {key_id!r} has no recorded usage; generate a new key instead",
                            code="trust.key.no_usage")
        kind = key_type or (KeyType(old.algorithm) if old.algorithm != "?" else KeyType.RSA2048)
        return self.generate(old.token, old.usage, kind, label=old.label, member=member or old.member)

    def set_key_state(self, key_id: str, state: KeyState) -> KeyInfo:
        self.key(key_id)
        data = self._load(for_update=True)
        data["keys"].setdefault(key_id, {"token": self._where(key_id)[0]})["state"] = state.value
        self._save(data)
        return self.key(key_id)

    def delete_key(self, key_id: str) -> None:
        """Destroy the key pair in its token and forget it and its certificates (irreversible)."""
        name, token = self._where(key_id)
        if token.has_key(key_id):
            token.delete(key_id)
        data = self._load(for_update=True)
        data["keys"].pop(key_id, None)
        for fp in [fp for fp, c in data["certs"].items() if c["key_id"] == key_id]:
            del data["certs"][fp]
            (self.directory / "certs" / f"{fp}.pem").unlink(missing_ok=True)
        self._save(data)

    def csr(self, key_id: str, subject: x509.Name) -> bytes:
        """A PKCS#10 request for the key, signed inside its token (refused for a disabled key)."""
        self._active(key_id)
        return make_csr(self, key_id, subject)

    # -- certificates -----------------------------------------------------------------
    def _cert_info(self, fp: str, rec: dict[str, Any]) -> CertInfo:
        cert = self.certificate_chain(fp)[0]
        return CertInfo(fp, rec["key_id"], KeyState(rec["state"]), cert.subject.rfc4514_string(),
                        cert.issuer.rfc4514_string(), cert.serial_number,
                        cert.not_valid_before_utc.isoformat(), cert.not_valid_after_utc.isoformat())

    def certificate_chain(self, cert_id: str) -> list[x509.Certificate]:
        if not _is_fingerprint(cert_id):
            raise KeyError_(f"invalid certificate id {cert_id!r}", code="trust.key.no_such_certificate")
        path = self.directory / "certs" / f"{cert_id}.pem"
        try:
            return x509.load_pem_x509_certificates(path.read_bytes())
        except FileNotFoundError:
            raise KeyError_(f"no certificate {cert_id}", code="trust.key.no_such_certificate") from None

    def import_certificate(self, data: bytes) -> CertInfo:
        """Store a certificate (PEM leaf then chain, or one DER) for the key it certifies.

        Refused: a certificate for no key here, one issued for the other usage (a sign
        certificate on an auth key), and one already imported.
        """
        certs = _parse_certificates(data)
        leaf = certs[0]
        spki = _spki(leaf.public_key())  # type: ignore[arg-type]
        key = next((k for k in self.keys() if self._public_spki(k.key_id) == spki), None)
        if key is None:
            raise KeyError_("the certificate matches no key in the tokens", code="trust.key.certificate_no_key")
        issued_for = _cert_usage(leaf)
        if key.usage is not None and issued_for is not None and issued_for is not key.usage:
            raise KeyError_(f"the certificate is for {issued_for.value} keys; key {key.key_id!r} is a "
                            f"{key.usage.value} key",
                            code="trust.key.certificate_usage")
        fp = hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()
        registry = self._load(for_update=True)
        if fp in registry["certs"]:
            raise KeyError_(f"certificate {fp} is already imported", code="trust.key.certificate_exists")
        pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
        write_atomic(self.directory / "certs" / f"{fp}.pem", pem)
        registry["certs"][fp] = {"key_id": key.key_id, "state": KeyState.ACTIVE.value}
        self._save(registry)
        return self._cert_info(fp, registry["certs"][fp])

    def set_certificate_state(self, cert_id: str, state: KeyState) -> CertInfo:
        data = self._load(for_update=True)
        rec = data["certs"].get(cert_id)
        if rec is None:
            raise KeyError_(f"no certificate {cert_id}", code="trust.key.no_such_certificate")
        rec["state"] = state.value
        self._save(data)
        return self._cert_info(cert_id, rec)

    def delete_certificate(self, cert_id: str) -> None:
        data = self._load(for_update=True)
        if data["certs"].pop(cert_id, None) is None:
            raise KeyError_(f"no certificate {cert_id}", code="trust.key.no_such_certificate")
        self._save(data)
        (self.directory / "certs" / f"{cert_id}.pem").unlink(missing_ok=True)

    # -- Signer -------------------------------------------------------------------------
    def _public_spki(self, key_id: str) -> bytes | None:
        rec = self._load()["keys"].get(key_id, {})
        if "public_key" in rec:
            return _spki(serialization.load_pem_public_key(rec["public_key"].encode()))  # type: ignore[arg-type]
        name, token = self._where(key_id)
        return _spki(token.public_key(key_id)) if token.logged_in else None

    def _active(self, key_id: str) -> Token:
        name, token = self._where(key_id)
        if self._load()["keys"].get(key_id, {}).get("state") == KeyState.DISABLED.value:
            raise KeyError_(f"key {key_id!r} is disabled", code="trust.key.disabled")
        return token

    def public_key(self, key_id: str) -> PublicKey:
        return self._where(key_id)[1].public_key(key_id)

    def sign(self, key_id: str, algorithm: SignatureAlgorithm, digest: bytes) -> bytes:
        return self._active(key_id).sign(key_id, algorithm, digest)


def _is_fingerprint(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _parse_certificates(data: bytes) -> list[x509.Certificate]:
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise KeyError_(f"certificate input is larger than {MAX_CERTIFICATE_BYTES} bytes",
                        code="trust.key.certificate_invalid")
    try:
        certs = (x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                 else [x509.load_der_x509_certificate(data)])
    except ValueError as exc:
        raise KeyError_(f"not a certificate: {exc}", code="trust.key.certificate_invalid") from exc
    if not isinstance(certs[0].public_key(), (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise KeyError_("the certificate's key is neither RSA nor EC", code="trust.key.certificate_invalid")
    return certs
