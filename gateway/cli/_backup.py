"""``sild gateway backup DIR --out FILE`` and ``sild gateway restore DIR FILE``.

The commands are the engine's (``trust.backup``, shared with ``sild central``), made
for the gateway's directory as :data:`gateway.provision.GATEWAY_BACKUP` describes it.
"""

from __future__ import annotations

from trust.backup import backup_command, restore_command

from gateway.provision import GATEWAY_BACKUP

backup = backup_command(GATEWAY_BACKUP)
restore = restore_command(GATEWAY_BACKUP)

__all__ = ["backup", "restore"]
