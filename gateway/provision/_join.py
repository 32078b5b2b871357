"""A second node of one gateway: the primary's keys and settings, carried safely (``sild gateway cluster join``).

The nodes of a cluster are one gateway to the rest of the instance: one server
identifier, one auth certificate (peers check it in the TLS handshake whichever node
answers), the same sign keys, one registered address (the balancer's). So a new node
starts from the primary's key material, and that must not travel in the clear:

* ``export_cluster_bundle`` packs what makes the identity (``gateway.json``,
  ``anchor.xml``, the soft token ``token/``, the key registry ``keys/``, ``certs/``,
  ``csr/``, ``sign-keys.json``) into a tar archive and encrypts it with the backup's
  passphrase encryption (:class:`trust.backup.EncryptingWriter`: scrypt and AES-GCM,
  authenticated record by record); nothing here is new cryptography. The soft token's
  keys stay encrypted under its PIN inside it as well, so the bundle is sealed twice.
  Keys on a PKCS#11 token (an HSM) are not in it at all: the registry names the token,
  and the secondary reaches the same token (a network HSM, or for tests one SoftHSM2
  token directory both use) with its PIN from ``SILD_TOKEN_PIN_<NAME>``.
* ``join_cluster`` opens the bundle (a wrong passphrase or a changed byte is refused
  before anything is written), accepts only the names above (regular files, no links,
  nothing outside the directory), and writes the node's own settings: its ports,
  its health port, its own message log (``messagelog_url``, or SQLite in its
  directory), and the primary's shared server configuration (``serverconf_url``).

What the bundle leaves out is per node: the databases, OCSP responses (each node
fetches its own), the downloaded configuration (each node downloads it from the
anchor), the admin API's TLS pair and keys, ``token.pin``. A cluster shares its server
configuration on PostgreSQL, so a primary on SQLite is refused with the setting to
change first; and a message log is never shared, so the secondary's ``messagelog_url``
must differ from the primary's.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path, PurePosixPath

from trust.backup import BackupError, DecryptingReader, EncryptingWriter
from trust.keys import write_atomic

from gateway.settings import SETTINGS_FILE, NodeSettings, SetupError, with_changes

BUNDLE_FILES = (SETTINGS_FILE, "anchor.xml", "sign-keys.json")
BUNDLE_DIRS = ("token", "keys", "certs", "csr")
MAX_BUNDLE_BYTES = 16 << 20  # keys and certificates: kilobytes; a bigger "bundle" is not one


def _shared_serverconf(settings: NodeSettings) -> None:
    if not settings.serverconf_url.startswith("postgresql"):
        raise SetupError("the nodes of a cluster share one server configuration on PostgreSQL, and this gateway "
                         "keeps its own in SQLite: set serverconf_url to a postgresql:// URL first "
                         "(.venv/bin/sild gateway set DIR serverconf_url=postgresql://...)")


def export_cluster_bundle(directory: Path, passphrase: str) -> bytes:
    """The primary's identity for a new node of its cluster, encrypted with ``passphrase`` (see the module doc)."""
    directory = Path(directory)
    _shared_serverconf(NodeSettings.load(directory))
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as tar:
        for name in BUNDLE_FILES:
            if (directory / name).is_file():
                tar.add(directory / name, arcname=name, recursive=False)
        for name in BUNDLE_DIRS:
            for path in sorted((directory / name).rglob("*")) if (directory / name).is_dir() else ():
                if path.is_file() and not path.is_symlink():
                    tar.add(path, arcname=path.relative_to(directory).as_posix(), recursive=False)
    sealed = io.BytesIO()
    writer = EncryptingWriter(sealed, passphrase)
    writer.write(plain.getvalue())
    writer.close()
    return sealed.getvalue()


def _allowed(name: str) -> bool:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return False
    return name in BUNDLE_FILES or (path.parts[0] in BUNDLE_DIRS and len(path.parts) > 1)


def _open_bundle(bundle: bytes, passphrase: str) -> dict[str, bytes]:
    if len(bundle) > MAX_BUNDLE_BYTES:
        raise SetupError(f"a cluster bundle holds keys and certificates; {len(bundle)} bytes is not one")
    try:
        plain = DecryptingReader(io.BytesIO(bundle), passphrase).read()
    except BackupError as exc:
        raise SetupError(f"the cluster bundle does not open: {exc}") from exc
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not _allowed(member.name):
                raise SetupError(f"the cluster bundle holds {member.name!r}, which no bundle holds")
            handle = tar.extractfile(member)
            assert handle is not None  # a regular file
            files[member.name] = handle.read()
    if SETTINGS_FILE not in files:
        raise SetupError("the cluster bundle holds no gateway.json")
    return files


def join_cluster(directory: Path, bundle: bytes, passphrase: str, *, is_port: int, peer_port: int,
                 health_port: int, admin_port: int = 0, messagelog_url: str = "") -> NodeSettings:
    """Make ``directory`` a new node of the primary's cluster from its bundle (see the module doc)."""
    directory = Path(directory)
    if (directory / SETTINGS_FILE).exists():
        raise SetupError(f"{directory} already holds a gateway")
    files = _open_bundle(bundle, passphrase)
    try:
        primary = NodeSettings(**json.loads(files[SETTINGS_FILE]))
    except (ValueError, TypeError) as exc:
        raise SetupError(f"the cluster bundle's gateway.json is not a gateway's settings: {exc}") from exc
    _shared_serverconf(primary)
    if messagelog_url and messagelog_url == primary.messagelog_url:
        raise SetupError("each node of a cluster keeps its own message log: give this node a messagelog_url "
                         "other than the primary's")
    if not health_port:
        raise SetupError("a node of a cluster needs a health port for its balancer (--health-port)")
    mine = with_changes(primary, {"is_port": is_port, "peer_port": peer_port, "health_port": health_port,
                                  "admin_port": admin_port, "admin_tls_cert": "", "admin_tls_key": "",
                                  "messagelog_url": messagelog_url})
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        if name == SETTINGS_FILE:
            continue
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(target, data, mode=0o600 if name.startswith(("token/", "keys/")) else 0o644)
    mine.save(directory)
    return mine
