"""Setting up a gateway directory: keys, CSRs, certificates, internal TLS.

``sild gateway init``, ``add-member`` and ``import-cert`` do this: the soft token and
its keys, CSRs built through the ``Signer``, imported certificates, the members whose
sign keys the gateway hosts, and the internal TLS certificate of the IS port.
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
    from ._internal_tls import INTERNAL_KEY, ensure_internal_tls, make_self_signed

__all__ = [
    "GATEWAY_BACKUP",
    "INTERNAL_KEY",
    "SIGN_KEYS_FILE",
    "add_member",
    "auth_subject",
    "ensure_internal_tls",
    "import_certificate",
    "init_gateway",
    "load_cert_chain",
    "make_csr",
    "make_self_signed",
    "sign_key_id",
    "sign_keys",
    "sign_subject",
]

__getattr__, __dir__ = attach(__name__, {
    "GATEWAY_BACKUP": "._backup",
    "INTERNAL_KEY": "._internal_tls",
    "SIGN_KEYS_FILE": "._directory",
    "add_member": "._directory",
    "auth_subject": "._csr",
    "ensure_internal_tls": "._internal_tls",
    "import_certificate": "._directory",
    "init_gateway": "._directory",
    "load_cert_chain": "._directory",
    "make_csr": "._csr",
    "make_self_signed": "._internal_tls",
    "sign_key_id": "._directory",
    "sign_keys": "._directory",
    "sign_subject": "._csr",
})
