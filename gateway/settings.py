"""Setting a gateway up: directory layout, keys, CSRs, certificate import, registration.

``sild gateway init DIR --anchor FILE --server EE/GOV/70000001/gw1`` creates::

    DIR/gateway.json        identity, ports, anchor, allowed federations (frozen NodeSettings)
    DIR/anchor.xml          the instance's configuration anchor (copied, SHA-224 shown)
    DIR/token/              soft token: ``auth`` and ``sign`` keys (PKCS#8, PIN encrypted)
    DIR/csr/auth.csr.pem    CSR for the TLS authentication certificate (server subject)
    DIR/csr/sign.csr.pem    CSR for the owner member's signing certificate
    DIR/certs/              imported certificates (``auth.pem``, ``sign.pem``, chain after the leaf)
    DIR/conf/               downloaded global configuration
    DIR/serverconf.db, DIR/messagelog.db

CSRs are built with asn1crypto and signed through :class:`trust.keys._token.Signer`, so the
private keys never leave the token (DESIGN.md section 6.5). Imported certificates are
checked against the keys in the token before they are stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.pki import load_certificates, self_signed_certificate
from trust.errors import IdentifierError, TrustError
from trust.protocol import MemberId, SecurityServerId, parse_server
from trust.keys import KeyType, Signer, SoftToken, write_atomic

from gateway.errors import GatewayError

SETTINGS_FILE = "gateway.json"
PIN_ENV = "SILD_TOKEN_PIN"
MAX_WORKERS = 64  # processes per gateway node; more would only multiply memory and connections


class SetupError(GatewayError):
    code = "gateway.setup.error"


@dataclass(frozen=True)
class NodeSettings:
    """What ``gateway.json`` holds; validated when built."""

    server: str
    instance: str
    is_host: str = "127.0.0.1"
    is_port: int = 8080
    is_tls_port: int = 0  # HTTPS for information systems (needed by https / https-cert clients); 0 = off
    peer_host: str = "127.0.0.1"
    peer_port: int = 5500
    ocsp_port: int = 0  # X-Road's plain-HTTP OCSP-responses port (5577); 0 = only on the mTLS port
    admin_port: int = 0
    public_address: str = ""  # the address registered in the global configuration
    allowed_federations: tuple[str, ...] = ()  # instance codes, or ("all",)
    key_type: str = KeyType.RSA2048.value
    conf_interval_seconds: int = 60
    ocsp_interval_seconds: int = 600
    timestamp_interval_seconds: int = 60
    registration: dict[str, str] = field(default_factory=dict)
    # Databases: "" means SQLite files in the gateway directory. A cluster of gateway
    # nodes shares the server configuration through a postgresql:// URL; the message
    # log stays per node (its own SQLite file, or its own PostgreSQL database).
    serverconf_url: str = ""
    messagelog_url: str = ""
    # FULL: a logged exchange survives a power loss, not only a crash of the process
    messagelog_synchronous: str = "FULL"
    # SQLite page cache of each message-log connection: the log's indexes must stay in memory
    messagelog_cache_mib: int = 64
    # Processes serving the IS and mutual-TLS ports. 1: the node's one process does everything;
    # N > 1: N worker processes serve, the main process supervises them and runs the jobs
    # (gateway.node._workers). One Python process runs Python on one core at a time.
    workers: int = 1

    def __post_init__(self) -> None:
        try:
            sid = parse_server(self.server)
        except IdentifierError as exc:
            raise SetupError(f"invalid server identifier {self.server!r}: {exc}") from exc
        if sid.instance != self.instance:
            raise SetupError("the server identifier's instance differs from the anchor's instance")
        for port in (self.is_port, self.is_tls_port, self.peer_port, self.ocsp_port, self.admin_port):
            if not 0 <= port <= 65535:
                raise SetupError(f"invalid port {port}")
        KeyType(self.key_type)
        for name in ("serverconf_url", "messagelog_url"):
            url = getattr(self, name)
            if url and "://" not in url:
                raise SetupError(f"{name} must be empty (SQLite in the gateway directory) or a database URL, not {url!r}")
        if not isinstance(self.messagelog_cache_mib, int) or not 0 <= self.messagelog_cache_mib <= 65536:
            raise SetupError(f"messagelog_cache_mib must be a whole number from 0 to 65536, not {self.messagelog_cache_mib!r}")
        if not isinstance(self.workers, int) or not 1 <= self.workers <= MAX_WORKERS:
            raise SetupError(f"workers must be a whole number from 1 to {MAX_WORKERS}, not {self.workers!r}")
        if self.messagelog_synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise SetupError(f"messagelog_synchronous must be OFF, NORMAL, FULL or EXTRA, not {self.messagelog_synchronous!r}")

    @property
    def server_id(self) -> SecurityServerId:
        return parse_server(self.server)

    def serverconf_database(self, directory: Path) -> str | Path:
        """Where the server configuration lives: the configured URL or ``DIR/serverconf.db``."""
        return self.serverconf_url or directory / "serverconf.db"

    def messagelog_database(self, directory: Path) -> str | Path:
        """Where this node's message log lives: the configured URL or ``DIR/messagelog.db``."""
        return self.messagelog_url or directory / "messagelog.db"

    def federation_allowed(self, instance: str) -> bool:
        return instance == self.instance or "all" in self.allowed_federations or \
            instance.upper() in (f.upper() for f in self.allowed_federations)

    def to_json(self) -> bytes:
        data = asdict(self)
        data["allowed_federations"] = list(self.allowed_federations)
        return json.dumps(data, indent=2).encode() + b"\n"

    @classmethod
    def load(cls, directory: Path) -> "NodeSettings":
        path = directory / SETTINGS_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise SetupError(f"{directory} is not a gateway directory (no {SETTINGS_FILE}); run `sild gateway init`") from None
        except ValueError as exc:
            raise SetupError(f"{path} is not valid JSON: {exc}") from exc
        data["allowed_federations"] = tuple(data.get("allowed_federations") or ())
        try:
            return cls(**data)
        except TypeError as exc:
            raise SetupError(f"{path}: {exc}") from exc

    def save(self, directory: Path) -> None:
        write_atomic(directory / SETTINGS_FILE, self.to_json(), mode=0o600)


def token_pin(directory: Path, pin: str | None = None) -> str:
    """The token PIN: argument, ``$SILD_TOKEN_PIN``, or ``DIR/token.pin`` (sandboxes only)."""
    if pin:
        return pin
    env = os.environ.get(PIN_ENV)
    if env:
        return env
    pin_file = directory / "token.pin"
    if pin_file.is_file():
        return pin_file.read_text().strip()
    raise SetupError(f"no token PIN: set {PIN_ENV} or write {pin_file}")


# -- CSRs through the Signer ---------------------------------------------------------

def _asn1_name(name: x509.Name) -> asn1_x509.Name:
    return asn1_x509.Name.load(name.public_bytes())


def make_csr(signer: Signer, key_id: str, subject: x509.Name) -> bytes:
    """A PKCS#10 request (PEM) signed by ``key_id`` inside the token."""
    public = signer.public_key(key_id)
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    info = asn1_csr.CertificationRequestInfo({
        "version": "v1",
        "subject": _asn1_name(subject),
        "subject_pk_info": asn1_keys.PublicKeyInfo.load(spki),
        "attributes": [],
    })
    algorithm = SignatureAlgorithm.for_key(public, DigestAlgorithm.SHA256)
    digest = DigestAlgorithm.SHA256.digest(info.dump())
    signature = signer.sign(key_id, algorithm, digest)
    if isinstance(public, rsa.RSAPublicKey):
        alg_name = "sha256_rsa"
    elif isinstance(public, ec.EllipticCurvePublicKey):
        alg_name = "sha256_ecdsa"
    else:  # pragma: no cover - for_key refused it already
        raise SetupError("unsupported key type")
    request = asn1_csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": {"algorithm": alg_name},
        "signature": signature,
    })
    der = request.dump()
    return x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM)


def _country(instance: str) -> x509.NameAttribute[str]:
    """C=instance as X-Road's EJBCA profile wants; instance codes are not ISO countries
    (``DEV``, ``EE-test``), so the two-letter check of ``cryptography`` is skipped."""
    if len(instance) == 2:
        return x509.NameAttribute(NameOID.COUNTRY_NAME, instance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return x509.NameAttribute(NameOID.COUNTRY_NAME, instance, _validate=False)


def auth_subject(server: SecurityServerId) -> x509.Name:
    return x509.Name([
        _country(server.instance),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, server.member_class),
        x509.NameAttribute(NameOID.COMMON_NAME, server.member_code),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"{server.instance}/{server.server_code}/{server.member_class}"),
    ])


def sign_subject(member: MemberId) -> x509.Name:
    return x509.Name([
        _country(member.instance),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, member.member_class),
        x509.NameAttribute(NameOID.COMMON_NAME, member.member_code),
    ])


# -- init and import -------------------------------------------------------------------

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
    key_id = sign_key_id(settings.server_id.owner, member)
    token = SoftToken(directory / "token", pin)
    if not token.has_key(key_id):
        token.generate(key_id, KeyType(settings.key_type))
    keys = {k: v.to_text() for k, v in sign_keys(directory).items() if k != "sign"}
    keys[key_id] = member.to_text()
    write_atomic(directory / SIGN_KEYS_FILE, json.dumps(keys, indent=2).encode())
    csr_path = directory / "csr" / f"{key_id}.csr.pem"
    write_atomic(csr_path, make_csr(token, key_id, sign_subject(member)))
    return csr_path


def import_certificate(directory: Path, data: bytes, *, pin: str) -> str:
    """Store an issued certificate (PEM, leaf first then chain) for the key it certifies.

    Which key is decided by matching the public key with the token's keys (``auth``,
    ``sign`` and the sign keys of other hosted members); a certificate for none is
    refused. Returns the key id.
    """
    try:
        # PEM (leaf first, chain may follow) or one DER certificate, parsed as exactly that
        certs = load_certificates(data) if b"-----BEGIN" in data else [x509.load_der_x509_certificate(data)]
    except (ValueError, TrustError) as exc:
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


INTERNAL_KEY = "internal"


def make_self_signed(signer: Signer, key_id: str, subject: x509.Name, *, now: dt.datetime,
                     days: int = 3650) -> bytes:
    """A self-signed certificate (PEM) for ``key_id``, signed through the token.

    The gateway's *internal* TLS certificate (what information systems see on the
    HTTPS IS port, as X-Road's internal TLS certificate) needs no CA: operators pin it
    in their IS, as they do with X-Road's.
    """
    der = self_signed_certificate(signer, key_id, subject, not_before=now - dt.timedelta(minutes=5),
                                  not_after=now + dt.timedelta(days=days), digest=DigestAlgorithm.SHA256,
                                  extended_key_usage=["server_auth"])
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def ensure_internal_tls(directory: Path, *, pin: str, now: dt.datetime) -> Path:
    """The internal TLS key and self-signed certificate (created on first use)."""
    directory = Path(directory)
    path = directory / "certs" / "internal.pem"
    if path.is_file():
        return path
    settings = NodeSettings.load(directory)
    token = SoftToken(directory / "token", pin)
    if not token.has_key(INTERNAL_KEY):
        token.generate(INTERNAL_KEY, KeyType(settings.key_type))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, settings.server),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sild gateway internal TLS")])
    write_atomic(path, make_self_signed(token, INTERNAL_KEY, subject, now=now))
    return path


def auth_cert_sha256(directory: Path) -> str:
    certs = load_certificates((Path(directory) / "certs" / "auth.pem").read_bytes())
    return hashlib.sha256(certs[0].public_bytes(serialization.Encoding.DER)).hexdigest()


def load_cert_chain(directory: Path, name: str) -> list[x509.Certificate]:
    path = Path(directory) / "certs" / f"{name}.pem"
    if not path.is_file():
        raise SetupError(f"no {name} certificate imported yet ({path}); run `sild gateway import-cert`")
    return load_certificates(path.read_bytes())


def copy_anchor(directory: Path, anchor: Path) -> None:
    shutil.copyfile(anchor, Path(directory) / "anchor.xml")
