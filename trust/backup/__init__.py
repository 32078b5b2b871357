"""Backup and restore of a node directory, for every role: one engine, one archive format.

A gateway and a governing authority both keep their state in a directory (settings,
soft token, certificates, SQLite databases) and maybe in PostgreSQL; both need a
consistent backup taken while they serve and a restore that cannot leave half a
node. This room is that engine, below every role: the roles describe their directory
through :class:`NodeKind` (``gateway.provision``, ``federation.central``) and the CLI
and admin API call :func:`write_backup` and :func:`restore_backup`. Its pieces: the
manifest and the role seam (``_manifest``), consistent copies of live databases
(``_databases``), the archive writer (``_backup``), passphrase encryption
(``_crypto``), the checked, atomic restore and its drill (a marked copy restored
beside a running node, ``_restore``), and the two CLI commands
both roles add to their group (``_cli``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._backup import Download, backup_download, write_backup
    from ._cli import backup_command, restore_command
    from ._crypto import DecryptingReader, EncryptingWriter, archive_is_encrypted, passphrase_from_env
    from ._errors import BackupDamaged, BackupError, BackupRefused
    from ._manifest import FORMAT, VERSION, DumpEntry, FileEntry, Manifest, NodeKind
    from ._restore import DRILL_MARKER, Restored, refuse_drill_copy, refuse_if_running, restore_backup

__all__ = [
    "DRILL_MARKER",
    "FORMAT",
    "VERSION",
    "BackupDamaged",
    "BackupError",
    "BackupRefused",
    "DecryptingReader",
    "Download",
    "DumpEntry",
    "EncryptingWriter",
    "FileEntry",
    "Manifest",
    "NodeKind",
    "Restored",
    "archive_is_encrypted",
    "backup_command",
    "backup_download",
    "passphrase_from_env",
    "refuse_drill_copy",
    "refuse_if_running",
    "restore_backup",
    "restore_command",
    "write_backup",
]

__getattr__, __dir__ = attach(__name__, {
    "DRILL_MARKER": "._restore",
    "FORMAT": "._manifest",
    "VERSION": "._manifest",
    "BackupDamaged": "._errors",
    "BackupError": "._errors",
    "BackupRefused": "._errors",
    "DecryptingReader": "._crypto",
    "Download": "._backup",
    "DumpEntry": "._manifest",
    "EncryptingWriter": "._crypto",
    "FileEntry": "._manifest",
    "Manifest": "._manifest",
    "NodeKind": "._manifest",
    "Restored": "._restore",
    "archive_is_encrypted": "._crypto",
    "backup_command": "._cli",
    "backup_download": "._backup",
    "passphrase_from_env": "._crypto",
    "refuse_drill_copy": "._restore",
    "refuse_if_running": "._restore",
    "restore_backup": "._restore",
    "restore_command": "._cli",
    "write_backup": "._backup",
})
