"""Setting up a gateway directory: keys, CSRs, certificates, internal TLS.

``sild gateway init``, ``add-member``, ``import-cert`` and ``token|key|cert`` do this: the
soft token and its keys, the key registry over it and any PKCS#11 tokens, CSRs built
through the ``Signer``, imported certificates, the members whose sign keys the gateway
hosts, and the internal TLS certificate of the IS port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._backup import GATEWAY_BACKUP
    from ._csr import auth_subject, make_csr, sign_subject
    from ._directory import (
        SIGN_KEYS_FILE, add_member, import_certificate, init_gateway, load_cert_chain, sign_key_id, sign_keys,
    )
    from ._join import export_cluster_bundle, join_cluster
    from ._internal_tls import INTERNAL_KEY, ensure_internal_tls, make_self_signed
    from ._keys import (
        KEYS_DIR, auth_key, auth_tls_key, generate_key, key_json, key_subject, member_of, ocsp_state, open_registry, owner_keys,
        renew_key, signing_keys, token_json, token_pin_variable, write_csr,
    )
    from ._owner import change_owner, owner_sign_key

__all__ = [
    "GATEWAY_BACKUP",
    "INTERNAL_KEY",
    "KEYS_DIR",
    "SIGN_KEYS_FILE",
    "add_member",
    "auth_key",
    "auth_tls_key",
    "auth_subject",
    "change_owner",
    "ensure_internal_tls",
    "export_cluster_bundle",
    "generate_key",
    "import_certificate",
    "join_cluster",
    "init_gateway",
    "key_json",
    "key_subject",
    "load_cert_chain",
    "make_csr",
    "make_self_signed",
    "member_of",
    "ocsp_state",
    "open_registry",
    "renew_key",
    "owner_keys",
    "owner_sign_key",
    "sign_key_id",
    "sign_keys",
    "sign_subject",
    "signing_keys",
    "token_json",
    "token_pin_variable",
    "write_csr",
]

__getattr__, __dir__ = attach(__name__, {
    "export_cluster_bundle": "._join",
    "join_cluster": "._join",
    "GATEWAY_BACKUP": "._backup",
    "INTERNAL_KEY": "._internal_tls",
    "KEYS_DIR": "._keys",
    "SIGN_KEYS_FILE": "._directory",
    "add_member": "._directory",
    "auth_key": "._keys",
    "auth_tls_key": "._keys",
    "auth_subject": "._csr",
    "change_owner": "._owner",
    "ensure_internal_tls": "._internal_tls",
    "generate_key": "._keys",
    "import_certificate": "._directory",
    "init_gateway": "._directory",
    "key_json": "._keys",
    "key_subject": "._keys",
    "load_cert_chain": "._directory",
    "make_csr": "._csr",
    "make_self_signed": "._internal_tls",
    "member_of": "._keys",
    "ocsp_state": "._keys",
    "open_registry": "._keys",
    "renew_key": "._keys",
    "owner_keys": "._keys",
    "owner_sign_key": "._owner",
    "sign_key_id": "._directory",
    "sign_keys": "._directory",
    "sign_subject": "._csr",
    "signing_keys": "._keys",
    "token_json": "._keys",
    "token_pin_variable": "._keys",
    "write_csr": "._keys",
})
