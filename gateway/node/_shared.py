"""What every node of a cluster holds the same, kept the same live through the shared server configuration.

Why: the nodes of a cluster are one gateway, but each reads its anchor, its
certificates, its key registry and its settings from its own directory. An operator
who imports a renewed sign certificate, installs the authority's new anchor or allows
a partner instance on one node (CLI or admin API) changed that node only; the others
kept the old state until someone copied files and restarted them (issue 19).

How: the cluster-wide items live, besides each node's directory, in two tables of the
server configuration database the nodes share (``cluster_file``: name, SHA-256,
bytes; ``cluster_state``: a version every publication moves). The main process of
each node runs :meth:`SharedFiles.sync` with its live check
(:mod:`gateway.node._live`, every 2 s):

* the cluster moved (the version differs from the one this node applied): the rows
  whose digest differs from what this node last agreed on are written into its
  directory atomically, and files the cluster removed are removed (only if unchanged
  here). The node's live check then takes them into use as it does any change made
  beside it: no restart;
* this node changed (a file's digest differs from what it last agreed on): the
  changed files are published in one transaction that moves the version.

At start the cluster's state wins over the directory (a node that was stopped missed
changes); what only the directory holds is published. Two nodes changing one file in
the same two seconds: the later publication wins, on every node.

What is cluster-wide (:data:`SHARED_FILES`, :data:`SHARED_DIRS`): ``anchor.xml``,
``sign-keys.json``, the key registry ``keys/`` (keys' usage, state, member, the
certificates and their states), imported certificates ``certs/``, requests ``csr/``,
and every setting of ``gateway.json`` except the per-node ones
(:data:`PER_NODE_SETTINGS`: ports and listen addresses, worker count, the message
log, the admin API's TLS pair, the server configuration's URL itself). Private keys
never travel this way: a soft token's keys are in ``token/`` (only the encrypted
bundle of ``sild gateway cluster join`` carries them, under a passphrase), keys on a
shared PKCS#11 token are reachable from every node anyway. So a registry that names
a soft-token key this node's token does not hold (made on another node after this one
joined) is not applied: the node keeps its key files, says why in its log and in
:attr:`SharedFiles.held`, and keeps signing with the keys it has.

A node whose server configuration is SQLite is alone: nothing is shared.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from gateway.db import schema as m
from gateway.settings import SETTINGS_FILE, NodeSettings
from trust.infra import write_atomic

log = logging.getLogger("sild.gateway.node")

SHARED_FILES = ("anchor.xml", "sign-keys.json")
SHARED_DIRS = ("keys", "certs", "csr")
SETTINGS_ITEM = "settings.json"  # the cluster-wide part of gateway.json, as a row of its own
KEY_ITEMS = ("sign-keys.json", "keys/", "certs/")  # applied together, or not at all (see the module doc)
PER_NODE_SETTINGS = frozenset({
    "is_host", "is_port", "is_tls_port", "peer_host", "peer_port", "ocsp_port", "admin_port", "health_port",
    "admin_listen", "admin_tls_cert", "admin_tls_key", "serverconf_url", "messagelog_url", "messagelog_synchronous",
    "messagelog_cache_mib", "workers",
})
MAX_FILE_BYTES = 1 << 20  # certificates, registries and anchors are kilobytes


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_key_item(name: str) -> bool:
    return name in KEY_ITEMS or name.startswith(KEY_ITEMS[1:])


def shared_settings(settings: NodeSettings) -> bytes:
    """The cluster-wide part of a node's settings, canonical (sorted keys) so equal settings give equal bytes."""
    everything = json.loads(settings.to_json())
    return json.dumps({k: v for k, v in everything.items() if k not in PER_NODE_SETTINGS}, sort_keys=True).encode()


def local_items(directory: Path) -> dict[str, bytes]:
    """The cluster-wide items of a node's directory by name (a half-written ``gateway.json`` is left out)."""
    items: dict[str, bytes] = {}
    for name in SHARED_FILES:
        if (directory / name).is_file():
            items[name] = (directory / name).read_bytes()
    for folder in SHARED_DIRS:
        base = directory / folder
        for path in sorted(base.rglob("*")) if base.is_dir() else ():
            if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
                if path.stat().st_size <= MAX_FILE_BYTES:
                    items[path.relative_to(directory).as_posix()] = path.read_bytes()
    try:
        items[SETTINGS_ITEM] = shared_settings(NodeSettings.load(directory))
    except Exception as exc:  # noqa: BLE001 - a half-edited gateway.json: published once it loads
        log.warning("%s not shared with the cluster yet: %s", SETTINGS_FILE, exc)
    return items


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return False
    return name in SHARED_FILES or name == SETTINGS_ITEM or (path.parts[0] in SHARED_DIRS and len(path.parts) > 1)


def missing_soft_keys(directory: Path, items: dict[str, bytes]) -> list[str]:
    """The soft-token keys the cluster's registry or ``sign-keys.json`` names that this node's token lacks.

    Such a key was made on another node's soft token after this node joined: its
    private key is on that node only (see the module doc).
    """
    named: set[str] = set()
    try:
        if "keys/keys.json" in items:
            keys = json.loads(items["keys/keys.json"]).get("keys", {})
            named |= {key_id for key_id, rec in keys.items() if rec.get("token", "soft") == "soft"}
        if "sign-keys.json" in items:
            named |= set(json.loads(items["sign-keys.json"]))
    except (ValueError, AttributeError, TypeError):
        return []
    return sorted(k for k in named if not (directory / "token" / f"{k}.key.pem").exists())


def soft_key_notice(directory: Path) -> str | None:
    """The warning a command that makes a soft-token key prints on a node of a cluster (None elsewhere)."""
    try:
        shared = NodeSettings.load(Path(directory)).serverconf_url.startswith("postgresql")
    except Exception:  # noqa: BLE001 - the command itself reports a directory that is not a gateway
        return None
    if not shared:
        return None
    return ("warning: this key is in this node's soft token only; the other nodes of its cluster cannot sign with "
            "it and keep their keys until they hold it: export a new bundle here (`.venv/bin/sild gateway cluster "
            "export`) and join them again, or make the key on a shared PKCS#11 token (--token)")


class SharedFiles:
    """One node's side of the cluster's shared files (see the module doc); no state outside this object."""

    def __init__(self, engine: Engine, directory: Path) -> None:
        self.engine = engine
        self.directory = Path(directory)
        self.version = -1  # the cluster's version this node applied; -1: none yet (start)
        self.agreed: dict[str, str] = {}  # name -> digest both this directory and the cluster held
        self.held: list[str] = []  # soft keys that held back the key files (empty: none)
        self._stamp: tuple[Any, ...] = ()

    def sync(self) -> list[str]:
        """One round: take the cluster's changes, then publish this node's; the names written here."""
        with Session(self.engine) as session:
            version = int(session.execute(select(m.ClusterState.version).where(m.ClusterState.id == 1)).scalar() or 0)
        written: list[str] = []
        if version != self.version:
            written = self._take(version)
        stamp = self._local_stamp()
        if stamp != self._stamp or written:
            self._stamp = stamp
            self._publish(local_items(self.directory))
        return written

    def _local_stamp(self) -> tuple[Any, ...]:
        """(name, inode, mtime, size) of every shared path: the files are read again only when this moved."""
        found: list[tuple[Any, ...]] = []
        paths = [self.directory / n for n in (*SHARED_FILES, SETTINGS_FILE)]
        for folder in SHARED_DIRS:
            base = self.directory / folder
            paths += [base, *sorted(base.rglob("*"))] if base.is_dir() else []
        for path in paths:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            found.append((str(path), st.st_ino, st.st_mtime_ns, st.st_size))
        return tuple(found)

    def _take(self, version: int) -> list[str]:
        with Session(self.engine) as session:
            rows = {r.name: (r.sha256, r.data) for r in session.execute(select(m.ClusterFile)).scalars()}
        local = {name: _digest(data) for name, data in local_items(self.directory).items()}
        start = self.version < 0
        incoming = {n: row for n, row in rows.items() if _safe_name(n) and local.get(n) != row[0]
                    and (start or self.agreed.get(n) != row[0])}
        gone = [] if start else [n for n, d in self.agreed.items() if n not in rows and local.get(n) == d]
        self.held = missing_soft_keys(self.directory, {n: data for n, (_d, data) in rows.items()})
        if self.held and any(_is_key_item(n) for n in [*incoming, *gone]):
            log.warning("the cluster's key registry names soft-token keys this node does not hold (%s): its keys "
                        "and certificates stay as they are; keys made on one node's soft token reach the others "
                        "only in a new `sild gateway cluster export` bundle, or use a shared PKCS#11 token",
                        ", ".join(self.held))
            incoming = {n: row for n, row in incoming.items() if not _is_key_item(n)}
            gone = [n for n in gone if not _is_key_item(n)]
        written = [n for n in sorted(incoming) if self._write(n, incoming[n][1])]
        refused = {n for n in incoming if n not in written}  # kept as they are here, and not published back
        for name in gone:
            (self.directory / name).unlink(missing_ok=True)
            written.append(name)
        held_back = ({n for n in rows if _is_key_item(n)} if self.held else set()) | refused
        self.agreed = {n: d for n, (d, _data) in rows.items() if n not in held_back}
        self.agreed.update({n: local[n] for n in held_back if n in local})
        self.version = version
        if written:
            log.info("cluster version %d: took %s", version, ", ".join(written))
        return written

    def _write(self, name: str, data: bytes) -> bool:
        """Write one item into the directory atomically; the settings merge into this node's own."""
        target = self.directory / name
        if name == SETTINGS_ITEM:
            try:
                mine = json.loads(NodeSettings.load(self.directory).to_json())
                shared = {k: v for k, v in json.loads(data).items() if k not in PER_NODE_SETTINGS}
                NodeSettings(**{**mine, **shared}).save(self.directory)
            except Exception as exc:  # noqa: BLE001 - e.g. a setting this version does not know: keep ours
                log.warning("the cluster's settings not taken: %s", exc)
                return False
            return True
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(target, data, mode=0o600 if name.startswith("keys/") else 0o644)
        return True

    def _publish(self, local: dict[str, bytes]) -> None:
        """Publish what changed here since the cluster and this node last agreed, in one transaction."""
        held = {n for n in local if _is_key_item(n)} if self.held else set()
        changed = {n: d for n, d in local.items() if _digest(d) != self.agreed.get(n) and n not in held}
        removed = [n for n in self.agreed if n not in local and n not in held]
        if not changed and not removed:
            return
        with Session(self.engine) as session, session.begin():
            version = session.execute(update(m.ClusterState).where(m.ClusterState.id == 1)
                                      .values(version=m.ClusterState.version + 1)
                                      .returning(m.ClusterState.version)).scalar_one()
            if removed:
                session.execute(delete(m.ClusterFile).where(m.ClusterFile.name.in_(removed)))
            for name, data in changed.items():
                session.merge(m.ClusterFile(name=name, sha256=_digest(data), data=data, version=version))
        for name in removed:
            self.agreed.pop(name, None)
        self.agreed.update({n: _digest(d) for n, d in changed.items()})
        if version == self.version + 1:  # nobody else published meanwhile: nothing to take next round
            self.version = version
        log.info("published to the cluster (version %d): %s", version, ", ".join(sorted([*changed, *removed])))
