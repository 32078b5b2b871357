"""A gateway's keys as an operator manages them: the registry of its tokens, and CSRs in X-Road's profile.

``trust.keys.KeyRegistry`` knows tokens, keys and certificates but not X-Road's
identifiers; this module adds what a gateway knows: the registry lives in ``DIR/keys``
over the soft token ``DIR/token``, an auth key's request names this security server
and a sign key's request names its member (the one recorded with the key, else the
owner), and requests are written to ``DIR/csr/<key id>.csr.pem`` where
``sild gateway init`` writes its own. The CLI (``sild gateway token|key|cert``) and
the admin API call these functions, so both make the same requests.

The PIN of a PKCS#11 token is never stored: a command reads it from
``SILD_TOKEN_PIN_<NAME>`` (the token name upper-cased, ``-`` as ``_``), as the soft
token's comes from ``SILD_TOKEN_PIN``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography import x509

from trust.keys import KeyInfo, KeyRegistry, KeyType, KeyUsage, SoftToken, TokenInfo, write_atomic
from trust.protocol import MemberId

from gateway.settings import NodeSettings, SetupError

from ._csr import auth_subject, sign_subject

KEYS_DIR = "keys"


def token_pin_variable(name: str) -> str:
    return "SILD_TOKEN_PIN_" + name.upper().replace("-", "_").replace(".", "_")


def open_registry(directory: Path, pin: str, *, environ: Mapping[str, str] | None = None) -> KeyRegistry:
    """The gateway's registry; PKCS#11 tokens whose PIN variable is set are logged in."""
    directory = Path(directory)
    if not (directory / "gateway.json").is_file():
        raise SetupError(f"{directory} is not a gateway directory (no gateway.json)")
    registry = KeyRegistry(directory / KEYS_DIR, SoftToken(directory / "token", pin))
    env = os.environ if environ is None else environ
    for name in registry.token_names()[1:]:
        token_pin = env.get(token_pin_variable(name))
        if token_pin:
            registry.login(name, token_pin)
    return registry


def key_subject(directory: Path, key: KeyInfo, member: MemberId | None = None) -> x509.Name:
    """X-Road's subject for the key: the security server for auth, the member for sign."""
    settings = NodeSettings.load(Path(directory))
    if key.usage is KeyUsage.AUTH:
        if member is not None:
            raise SetupError("an auth key certifies the security server; --member is for sign keys")
        return auth_subject(settings.server_id)
    if key.usage is not KeyUsage.SIGN:
        raise SetupError(f"key {key.key_id!r} has no auth or sign usage; it cannot be certified here")
    if member is None:
        member = member_of(directory, key)
    if member.instance != settings.instance:
        raise SetupError(f"{member.to_text()} is not a member of instance {settings.instance}")
    return sign_subject(member)


def member_of(directory: Path, key: KeyInfo) -> MemberId:
    """The member a sign key signs for: recorded with it, else (keys made by ``init`` and
    ``add-member``) from ``sign-keys.json``, else the owner."""
    from trust.protocol import parse_client

    from ._directory import sign_keys

    if key.member:
        client = parse_client(key.member)
        return client if isinstance(client, MemberId) else client.member
    known = sign_keys(Path(directory)).get(key.key_id)
    return known if known is not None else NodeSettings.load(Path(directory)).server_id.owner


def write_csr(directory: Path, registry: KeyRegistry, key_id: str, member: MemberId | None = None) -> Path:
    """``DIR/csr/<key id>.csr.pem``: a request made inside the key's token, in X-Road's profile."""
    key = registry.key(key_id)
    pem = registry.csr(key_id, key_subject(directory, key, member))
    path = Path(directory) / "csr" / f"{key_id}.csr.pem"
    write_atomic(path, pem)
    return path


def generate_key(directory: Path, registry: KeyRegistry, *, token: str, usage: KeyUsage, key_type: KeyType,
                 member: MemberId | None = None, label: str = "") -> tuple[KeyInfo, Path]:
    """A new key in ``token`` and its certificate request."""
    settings = NodeSettings.load(Path(directory))
    if usage is KeyUsage.SIGN and member is None:
        member = settings.server_id.owner
    if usage is KeyUsage.AUTH and member is not None:
        raise SetupError("an auth key certifies the security server; --member is for sign keys")
    if member is not None and member.instance != settings.instance:
        raise SetupError(f"{member.to_text()} is not a member of instance {settings.instance}")
    key = registry.generate(token, usage, key_type, label=label,
                            member=member.to_text() if member is not None else None)
    return key, write_csr(directory, registry, key.key_id)


def renew_key(directory: Path, registry: KeyRegistry, key_id: str, *, new_key: bool = True,
              key_type: KeyType | None = None) -> tuple[KeyInfo, Path]:
    """The renewal of ``key_id``: by default a new key (same token, usage, member) and its request."""
    old = registry.key(key_id)
    member = member_of(directory, old).to_text() if old.usage is KeyUsage.SIGN else None
    key = registry.renew(key_id, new_key=new_key, key_type=key_type, member=member)
    return key, write_csr(directory, registry, key.key_id)


def signing_keys(directory: Path, registry: KeyRegistry) -> dict[MemberId, tuple[str, list[x509.Certificate]]]:
    """member -> (key id, chain, leaf first): the key each member's messages are signed with.

    A member's candidates are its active sign keys with an active certificate in the
    registry, and the key ``init``/``add-member`` made for it with the certificate
    ``import-cert`` stored in ``DIR/certs/``; the newest certificate (latest
    ``notBefore``) wins, so importing the certificate of a renewed key switches the
    node to the new key. A disabled key is never chosen; a chosen key in a logged-out
    token (its PIN variable unset) stops the node at start rather than at its first message.
    """
    from trust.keys import SOFT, KeyState

    from ._directory import load_cert_chain, sign_keys

    directory = Path(directory)
    candidates: dict[MemberId, list[tuple[str, list[x509.Certificate]]]] = {}
    disabled = set()
    for key in registry.keys():
        if key.state is KeyState.DISABLED:
            disabled.add(key.key_id)
        if key.usage is not KeyUsage.SIGN or key.state is not KeyState.ACTIVE:
            continue
        for cert in key.certificates:
            if cert.state is KeyState.ACTIVE:
                candidates.setdefault(member_of(directory, key), []).append(
                    (key.key_id, registry.certificate_chain(cert.id)))
    soft = registry.token(SOFT)
    for key_id, member in sign_keys(directory).items():
        if (key_id not in disabled and (directory / "certs" / f"{key_id}.pem").is_file()
                and soft.has_key(key_id)):  # a deleted key leaves its certificate file behind
            candidates.setdefault(member, []).append((key_id, load_cert_chain(directory, key_id)))
    chosen = {member: max(options, key=lambda option: option[1][0].not_valid_before_utc)
              for member, options in candidates.items()}
    for member, (key_id, _chain) in chosen.items():
        token = registry.key(key_id).token
        if not registry.token(token).logged_in:
            raise SetupError(f"the sign key {key_id} of {member.to_text()} is in token {token}, which is logged "
                             f"out: set ${token_pin_variable(token)}")
    return chosen


def auth_key(directory: Path, registry: KeyRegistry) -> tuple[str, list[x509.Certificate]]:
    """(key id, chain, leaf first): the auth key a registration or management request is signed with.

    The candidates are the active auth keys with an active certificate in the registry
    and the key ``init`` made (``auth``) with the certificate ``import-cert`` stored in
    ``DIR/certs/auth.pem``; the newest certificate wins, as for sign keys
    (:func:`signing_keys`), so after a renewal the new key signs. A gateway that never
    renewed signs with ``auth`` as before.
    """
    from trust.keys import KeyState

    from ._directory import load_cert_chain

    directory = Path(directory)
    options: list[tuple[str, list[x509.Certificate]]] = []
    legacy_disabled = False
    for key in registry.keys():
        if key.key_id == "auth" and key.state is KeyState.DISABLED:
            legacy_disabled = True
        if key.usage is not KeyUsage.AUTH or key.state is not KeyState.ACTIVE:
            continue
        options += [(key.key_id, registry.certificate_chain(c.id)) for c in key.certificates
                    if c.state is KeyState.ACTIVE]
    if not legacy_disabled and (directory / "certs" / "auth.pem").is_file():
        options.append(("auth", load_cert_chain(directory, "auth")))
    if not options:
        load_cert_chain(directory, "auth")  # none imported at all: the one-line hint to import one
        raise SetupError(f"every auth key of {directory} with a certificate is disabled; activate one "
                         f"(`.venv/bin/sild gateway key activate {directory} KEY`)")
    return max(options, key=lambda option: option[1][0].not_valid_before_utc)


def auth_tls_key(directory: Path, registry: KeyRegistry) -> tuple[str, list[x509.Certificate], tuple[str, str, str]]:
    """(key id, chain, (certificate file, key file, passphrase)): what the node's mutual TLS serves.

    The auth key :func:`auth_key` picks, so a renewed auth key whose certificate was
    imported and activated is the one peers see in the handshake, as it is the one the
    authority registered. Python's ``ssl`` loads the key and the chain from files: the
    chain is the registry's stored certificate file (``keys/certs/<id>.pem``) or, for the
    key ``init`` made, ``DIR/certs/auth.pem``; the key must be in the soft token (a
    PKCS#11 token never gives its key material out), so such a key is refused.
    """
    import hashlib

    from cryptography.hazmat.primitives import serialization

    from trust.keys import SOFT

    key_id, chain = auth_key(directory, registry)
    token = registry.key(key_id).token
    soft = registry.token(SOFT)
    if token != SOFT or not isinstance(soft, SoftToken):
        raise SetupError(f"the auth key {key_id} is in token {token}: TLS needs the auth key in the soft token "
                         f"(Python's ssl reads the key from a file)")
    cert_id = hashlib.sha256(chain[0].public_bytes(serialization.Encoding.DER)).hexdigest()
    cert_file = registry.directory / "certs" / f"{cert_id}.pem"
    if not cert_file.is_file():
        cert_file = Path(directory) / "certs" / "auth.pem"
    key_file, password = soft.key_file(key_id)
    return key_id, chain, (str(cert_file), str(key_file), password)


def owner_keys(directory: Path, registry: KeyRegistry) -> dict[str, tuple[str, list[x509.Certificate]]]:
    """``{"auth": (key id, chain), "sign": (key id, chain)}``: the newest keys of this server and its owner."""
    owner = NodeSettings.load(Path(directory)).server_id.owner
    sign = signing_keys(directory, registry).get(owner)
    if sign is None:
        raise SetupError(f"no sign certificate of the owner {owner.to_text()} imported yet; run "
                         "`.venv/bin/sild gateway import-cert` or `.venv/bin/sild gateway cert import`")
    return {"auth": auth_key(directory, registry), "sign": sign}


def key_json(directory: Path, key: KeyInfo) -> dict[str, Any]:
    """A key as ``key list --json`` and ``GET /api/v1/keys`` show it: certificates with their OCSP status."""
    return {"id": key.key_id, "token": key.token, "usage": key.usage.value if key.usage else None,
            "label": key.label, "algorithm": key.algorithm, "state": key.state.value, "member": key.member,
            "certificates": [{"id": c.id, "state": c.state.value, "subject": c.subject, "issuer": c.issuer,
                              "serial": f"{c.serial:x}", "not_before": c.not_before, "not_after": c.not_after,
                              "ocsp": ocsp_state(directory, key.key_id, c.serial)}
                             for c in key.certificates]}


def token_json(directory: Path, token: TokenInfo) -> dict[str, Any]:
    """A token as ``token list --json`` and ``GET /api/v1/tokens`` show it."""
    return {"name": token.name, "type": token.kind, "logged_in": token.logged_in,
            "keys": [key_json(directory, k) for k in token.keys]}


def ocsp_state(directory: Path, key_id: str, serial: int) -> dict[str, str | None] | None:
    """The OCSP status of a key's certificate as the node last fetched it (``DIR/ocsp/<key>.ocsp``).

    The node verified the response when it fetched it; this only reads it back for the
    operator. None: no response stored for that certificate (the node has not fetched
    one yet, or holds one for an older certificate of the key).
    """
    from cryptography.x509 import ocsp

    path = Path(directory) / "ocsp" / f"{key_id}.ocsp"
    try:
        response = ocsp.load_der_ocsp_response(path.read_bytes())
    except (OSError, ValueError):
        return None
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return {"status": f"error ({response.response_status.name.lower()})", "this_update": None,
                "next_update": None}
    for single in response.responses:
        if single.serial_number == serial:
            return {"status": single.certificate_status.name.lower(),
                    "this_update": single.this_update_utc.isoformat(),
                    "next_update": single.next_update_utc.isoformat() if single.next_update_utc else None}
    return None

