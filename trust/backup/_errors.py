"""The errors of backup and restore: one branch, three codes an operator can act on.

``BackupError`` is the branch (a file cannot be read or written, a tool is missing);
``BackupRefused`` says that sild declined on purpose and changed nothing (the node is
running, the backup is of another node or role, the archive is of an unknown format);
``BackupDamaged`` says that the archive cannot be trusted (a wrong passphrase, a
changed byte, a truncated file, a file whose digest differs from the manifest).
"""

from __future__ import annotations

from trust.errors import TrustError


class BackupError(TrustError):
    code = "trust.backup.error"


class BackupRefused(BackupError):
    code = "trust.backup.refused"


class BackupDamaged(BackupError):
    code = "trust.backup.damaged"
