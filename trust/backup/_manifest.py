"""What a backup says about itself (the manifest), and what a role says about its nodes (``NodeKind``).

The manifest is ``manifest.json``, the last member of the archive (it can only be
written once every file's digest is known)::

    {"format": "sild-backup", "version": 1, "role": "gateway",
     "identity": "EE/GOV/70000001/gw1", "created_at": "2026-12-06T03:00:00+00:00",
     "files": [{"path": "gateway.json", "kind": "file", "size": 612, "sha256": "..."},
               {"path": "messagelog.db", "kind": "sqlite", "size": 73728, "sha256": "..."},
               {"path": "token/auth.key", ...}],
     "databases": [{"name": "serverconf", "file": "postgresql/serverconf.dump", "sha256": "..."}]}

Restore checks every file against it and refuses an archive whose ``format`` or
``version`` it does not know, so a later sild that changes the layout says so instead
of restoring half a node. Without encryption the digests catch damage, not malice;
an operator who needs the latter encrypts (:mod:`._crypto`).

:class:`NodeKind` is the seam between this engine and the roles: the gateway
(``gateway.provision``) and the authority (``federation.central``) each describe
their directory (who it is, which server databases it uses, which ports it listens
on, which sub-directories are rebuilt and need no backup); the engine knows nothing
else of either role.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import BackupDamaged, BackupRefused

FORMAT = "sild-backup"
VERSION = 1
MANIFEST = "manifest.json"
NODE = "node"  # the node directory's files are under this name in the archive
DUMPS = "postgresql"  # pg_dump files of server databases
KINDS = ("file", "sqlite", "symlink")


@dataclass(frozen=True)
class NodeKind:
    """How a role's node directory is backed up.

    ``identity(directory)`` names the node (a gateway's server identifier, an
    authority's instance) and raises the role's error when ``directory`` is not such
    a node; ``server_databases(directory)`` maps a name to each database URL that
    lives outside the directory (PostgreSQL); ``ports(directory)`` lists the
    ``(host, port)`` a running node listens on; ``rebuilt`` names top-level entries
    that the node downloads or regenerates and that a backup therefore leaves out,
    except the files ``keep`` names inside them (``conf/high-water.json``: state
    kept beside a rebuilt cache); ``noun`` is what messages call such a node (the
    role's name by default); ``describe(directory)`` says in a few lines what a
    restored directory holds (a gateway: its message log's records, keys,
    certificates, instance), so that a restore drill shows what came back.
    """

    role: str
    identity: Callable[[Path], str]
    server_databases: Callable[[Path], Mapping[str, str]] = lambda _d: {}
    ports: Callable[[Path], list[tuple[str, int]]] = lambda _d: []
    rebuilt: frozenset[str] = frozenset()
    keep: frozenset[str] = frozenset()
    noun: str = ""
    describe: Callable[[Path], list[str]] = lambda _d: []

    @property
    def name(self) -> str:
        return self.noun or self.role


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the node directory, "/"-separated
    kind: str
    size: int = 0
    sha256: str = ""
    target: str = ""  # symlinks only


@dataclass(frozen=True)
class DumpEntry:
    name: str
    file: str
    sha256: str


@dataclass(frozen=True)
class Manifest:
    role: str
    identity: str
    created_at: dt.datetime
    files: tuple[FileEntry, ...] = ()
    databases: tuple[DumpEntry, ...] = field(default=())

    def to_json(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "version": VERSION, "role": self.role, "identity": self.identity,
            "created_at": self.created_at.isoformat(),
            "files": [{k: v for k, v in vars(f).items() if v != ""} for f in self.files],
            "databases": [vars(d) for d in self.databases],
        }, indent=1).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> "Manifest":
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise BackupDamaged(f"the backup's manifest is not JSON: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BackupRefused("not a sild backup (its manifest names another format)")
        if raw.get("version") != VERSION:
            raise BackupRefused(f"backup format version {raw.get('version')!r} is not known to this sild "
                                f"(it reads version {VERSION})")
        try:
            created = dt.datetime.fromisoformat(raw["created_at"])
            files = tuple(FileEntry(**f) for f in raw["files"])
            dumps = tuple(DumpEntry(**d) for d in raw.get("databases", []))
            manifest = cls(str(raw["role"]), str(raw["identity"]), created, files, dumps)
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupDamaged(f"the backup's manifest is incomplete: {exc}") from exc
        for entry in files:
            if entry.kind not in KINDS:
                raise BackupDamaged(f"the backup's manifest names an unknown kind of file {entry.kind!r}")
        return manifest
