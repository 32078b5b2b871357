"""Setting a gateway directory up: settings, anchor, keys, CSRs, hosted members, certificate import.

``sild gateway init DIR --anchor FILE --server EE/GOV/70000001/gw1`` creates::

    DIR/gateway.json        identity, ports, anchor, allowed federations (frozen NodeSettings)
    DIR/anchor.xml          the instance's configuration anchor (copied, SHA-224 shown)
    DIR/token/              soft token: ``auth`` and ``sign`` keys (PKCS#8, PIN encrypted)
    DIR/csr/auth.csr.pem    CSR for the TLS authentication certificate (server subject)
    DIR/csr/sign.csr.pem    CSR for the owner member's signing certificate
    DIR/certs/              imported certificates (``auth.pem``, ``sign.pem``, chain after the leaf)
    DIR/conf/               downloaded global configuration
    DIR/serverconf.db, DIR/messagelog.db

Other members hosted by the gateway get their own sign key and CSR
(:func:`add_member`, listed in ``DIR/sign-keys.json``). Imported certificates are
checked against the keys in the token before they are stored. The settings
themselves (:class:`gateway.settings.NodeSettings`) stay on the ground floor, where
every room can read them; this module is what the CLI and the sandbox run to make
a directory, and what the node reads its certificates back with.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trust.errors import TrustError
from trust.keys import KeyType, SoftToken, write_atomic
from trust.pki import load_certificates, read_certificates
from trust.protocol import MemberId

from gateway.settings import SETTINGS_FILE, NodeSettings, SetupError

from ._csr import auth_subject, make_csr, sign_subject


def init_gateway(directory: Path, *, anchor: Path | None, server: str, pin: str,
                 key_type: KeyType = KeyType.RSA2048, settings: dict[str, object] | None = None) -> NodeSettings:
    """Create the gateway directory: settings, anchor copy, keys, CSRs.

    Without an anchor (tests that inject the configuration) the instance comes from
    the server identifier.
    """
    from federation.anchor import parse_anchor
    from federation.errors import FederationError

    directory = Path(directory)
    if (directory / SETTINGS_FILE).exists():
        raise SetupError(f"{directory} already holds a gateway")
    anchor_bytes = None
    if anchor is not None:
        try:
            anchor_bytes = Path(anchor).read_bytes()
        except OSError as exc:
            raise SetupError(f"cannot read anchor {anchor}: {exc.strerror or exc}") from exc
        try:
            instance = parse_anchor(anchor_bytes).instance
        except FederationError as exc:
            raise SetupError(f"{anchor} is not a configuration anchor: {exc}") from exc
    else:
        instance = server.split("/", 1)[0]
    node = NodeSettings(server=server, instance=instance, key_type=key_type.value,
                        **(settings or {}))  # type: ignore[arg-type]
    directory.mkdir(parents=True, exist_ok=True)
    if anchor_bytes is not None:
        write_atomic(directory / "anchor.xml", anchor_bytes)
    token = SoftToken(directory / "token", pin)
    for key_id in ("auth", "sign"):
        if not token.has_key(key_id):
            token.generate(key_id, key_type)
    sid = node.server_id
    write_atomic(directory / "csr" / "auth.csr.pem", make_csr(token, "auth", auth_subject(sid)))
    write_atomic(directory / "csr" / "sign.csr.pem", make_csr(token, "sign", sign_subject(sid.owner)))
    for sub in ("certs", "conf", "ocsp"):
        (directory / sub).mkdir(exist_ok=True)
    node.save(directory)
    return node


SIGN_KEYS_FILE = "sign-keys.json"


def sign_key_id(owner: MemberId, member: MemberId) -> str:
    """``sign`` for the gateway owner; ``sign-<n>`` for other members hosted here."""
    if member == owner:
        return "sign"
    return "sign-" + hashlib.sha256(member.to_text().encode()).hexdigest()[:16]


def sign_keys(directory: Path) -> dict[str, MemberId]:
    """key id -> member, for every member whose messages this gateway signs."""
    from trust.protocol import parse_client

    directory = Path(directory)
    settings = NodeSettings.load(directory)
    out: dict[str, MemberId] = {"sign": settings.server_id.owner}
    path = directory / SIGN_KEYS_FILE
    if path.is_file():
        for key_id, text in json.loads(path.read_text()).items():
            member = parse_client(text)
            out[key_id] = member.member
    return out


def add_member(directory: Path, member: MemberId, *, pin: str) -> Path:
    """A sign key and CSR for another member whose subsystems this gateway serves."""
    directory = Path(directory)
    settings = NodeSettings.load(directory)
    if member.instance != settings.instance:
        raise SetupError(f"{member.to_text()} is not a member of instance {settings.instance}")
    renewed = _renewed_sign_key(directory, member, pin)
    if renewed is not None:
        return renewed
    # a member that already has a key keeps it (the former owner's is ``sign`` after an owner change)
    key_id = next((k for k, m in sign_keys(directory).items() if m == member), sign_key_id(settings.server_id.owner, member))
    token = SoftToken(directory / "token", pin)
    if not token.has_key(key_id):
        token.generate(key_id, KeyType(settings.key_type))
    keys = {k: v.to_text() for k, v in sign_keys(directory).items() if k != "sign" or v != settings.server_id.owner}
    keys[key_id] = member.to_text()
    write_atomic(directory / SIGN_KEYS_FILE, json.dumps(keys, indent=2).encode())
    csr_path = directory / "csr" / f"{key_id}.csr.pem"
    write_atomic(csr_path, make_csr(token, key_id, sign_subject(member)))
    return csr_path


def _renewed_sign_key(directory: Path, member: MemberId, pin: str) -> Path | None:
    """The request for the member's key in use when that key came from the key registry (a renewal).

    Why: after ``key renew`` and ``cert import`` the member signs with the new key, so a
    new request is for that key, made in its token; a member that never renewed keeps
    its ``add-member`` key and this returns None.
    """
    from ._keys import open_registry, signing_keys, write_csr

    registry = open_registry(directory, pin)
    chosen = signing_keys(directory, registry).get(member)
    if chosen is None or chosen[0] in sign_keys(directory):
        return None
    return write_csr(directory, registry, chosen[0], member)


def import_certificate(directory: Path, data: bytes, *, pin: str) -> str:
    """Store an issued certificate (PEM, leaf first then chain) for the key it certifies.

    Which key is decided by matching the public key with the token's keys (``auth``,
    ``sign`` and the sign keys of other hosted members); a certificate for none is
    refused. Returns the key id.
    """
    try:
        # PEM (leaf first, chain may follow) or one DER certificate, parsed as exactly that
        certs = read_certificates(data)
    except TrustError as exc:  # CertificateError is one
        raise SetupError(f"not a certificate: {exc}") from exc
    if not certs:
        raise SetupError("no certificate in the input")
    leaf = certs[0]
    token = SoftToken(Path(directory) / "token", pin)
    leaf_spki = leaf.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    for key_id in token.key_ids():
        pub = token.public_key(key_id).public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
        if pub == leaf_spki:
            pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
            write_atomic(Path(directory) / "certs" / f"{key_id}.pem", pem)
            return key_id
    raise SetupError("the certificate matches no key of this gateway")


def load_cert_chain(directory: Path, name: str) -> list[x509.Certificate]:
    path = Path(directory) / "certs" / f"{name}.pem"
    if not path.is_file():
        raise SetupError(f"no {name} certificate imported yet ({path}); run `sild gateway import-cert`")
    return load_certificates(path.read_bytes())
