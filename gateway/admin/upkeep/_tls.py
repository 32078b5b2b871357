"""The admin API's TLS: the certificate the admin port serves, and how a client trusts it.

The admin port carries API keys, so it speaks HTTPS, also on loopback (another local
user must not read a key off the wire) and necessarily when ``admin_listen`` opens it
to other machines. Like X-Road's management UI certificate, the default one needs no
CA: ``gateway init`` (or the first start of a gateway made before) writes a
self-signed ECDSA P-256 certificate and its key to ``DIR/admin-tls/`` (the key a plain
PEM file of mode 0600, as X-Road keeps its UI key, because the TLS stack reads a file
and the key is not an X-Road identity; it stays out of the token, which may be an HSM).
Its names are those a client uses: ``localhost``, the loopback addresses, the listen
address, the registered address's host and the machine's name. An operator who has a
certificate from the organisation's CA names it in ``admin_tls_cert``/``admin_tls_key``.

Clients pin what the node serves: :func:`admin_client_context` trusts exactly the
certificate file of the gateway directory (its leaf is a trust anchor), which is what
the CLI and the sandbox do; ``curl --cacert DIR/admin-tls/admin.crt`` does the same.
Making, serving and pinning such a pair is :mod:`trust.pki`'s (the authority's
management port does the same); this module knows where a gateway keeps it and which
names it carries.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from pathlib import Path

from trust.pki import ensure_self_signed_tls, file_server_context, pinned_client_context

from gateway.settings import NodeSettings, SetupError

CERT_FILE = Path("admin-tls") / "admin.crt"
KEY_FILE = Path("admin-tls") / "admin.key"
WILDCARDS = ("", "0.0.0.0", "::")


def admin_tls_files(directory: Path, settings: NodeSettings) -> tuple[Path, Path]:
    """The certificate and key files the admin port serves (the operator's, or the generated pair)."""
    directory = Path(directory)
    if settings.admin_tls_cert:
        return directory / settings.admin_tls_cert, directory / settings.admin_tls_key  # absolute paths stay
    return directory / CERT_FILE, directory / KEY_FILE


def ensure_admin_tls(directory: Path, settings: NodeSettings, *, now: dt.datetime) -> tuple[Path, bool]:
    """The admin certificate file, generated when the default pair is missing; ``(path, generated)``.

    A generated certificate is made again when it no longer names every address a client
    uses (``admin_listen`` changed, the directory moved to another host). An operator's
    pair is never generated: missing files are a :class:`SetupError` that names them, so
    a typo in ``gateway.json`` does not silently become a self-signed certificate.
    """
    cert, key = admin_tls_files(directory, settings)
    if settings.admin_tls_cert:
        for path in (cert, key):
            if not path.is_file():
                raise SetupError(f"admin TLS file {path} does not exist (admin_tls_cert / admin_tls_key in gateway.json)")
        return cert, False
    made = ensure_self_signed_tls(cert, key, names=_names(settings), common_name=f"{settings.server} admin API",
                                  organisation="sild gateway admin TLS", now=now)
    return cert, made


def _names(settings: NodeSettings) -> list[str]:
    """Every name a client may use for this admin port."""
    names = ["localhost", "127.0.0.1", "::1", settings.admin_listen, socket.gethostname()]
    address = settings.public_address.strip()
    if address.startswith("["):
        names.append(address[1:address.find("]")])
    elif address:
        names.append(address.rsplit(":", 1)[0] if address.count(":") == 1 else address)
    return names


def admin_ssl_context(directory: Path, settings: NodeSettings, *, now: dt.datetime) -> ssl.SSLContext:
    """The admin port's server context: TLS 1.2 or newer, the admin certificate (made when missing)."""
    ensure_admin_tls(directory, settings, now=now)
    cert, key = admin_tls_files(directory, settings)
    try:
        return file_server_context(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise SetupError(f"cannot use the admin TLS certificate {cert} with key {key}: {exc}") from exc


def admin_client_context(directory: Path) -> ssl.SSLContext:
    """A client context that trusts exactly the admin certificate of the gateway in ``directory``.

    The served certificate file is the trust anchor (partial-chain verification), so a
    self-signed certificate and an operator's CA-issued one are both pinned; the host
    name is checked against its subjectAltNames as usual.
    """
    directory = Path(directory)
    cert, _key = admin_tls_files(directory, NodeSettings.load(directory))
    if not cert.is_file():
        raise SetupError(f"{cert} does not exist: the admin API's certificate is made by `gateway init` "
                         "or at the gateway's first start with an admin port")
    return pinned_client_context(cert)


def admin_url(directory: Path) -> str:
    """``https://HOST:PORT`` of the admin API of the gateway in ``directory`` (loopback for a wildcard listen)."""
    settings = NodeSettings.load(Path(directory))
    if not settings.admin_port:
        raise SetupError(f"the gateway in {directory} has no admin API (admin_port is 0 in gateway.json)")
    host = "127.0.0.1" if settings.admin_listen in WILDCARDS else settings.admin_listen
    host = f"[{host}]" if ":" in host else host
    return f"https://{host}:{settings.admin_port}"


__all__ = ["admin_client_context", "admin_ssl_context", "admin_tls_files", "admin_url", "ensure_admin_tls"]
