"""The configuration client: download, verify and keep global configuration.

What a gateway (or ``sild conf fetch``) does: fetch the signed directory from the
authority's URLs, verify it against the anchor, check every part's hash, store it
atomically with a high-water mark per instance, and keep working on the cached copy
while the authority is down. Partner instances only where the settings allow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._client import ConfigurationClient, schedule_refresh
    from ._config import AllowedFederations, ClientConfig, ConfRolledBack, RefreshReport
    from ._store import read_status

__all__ = [
    "AllowedFederations",
    "ClientConfig",
    "ConfRolledBack",
    "ConfigurationClient",
    "RefreshReport",
    "read_status",
    "schedule_refresh",
]

__getattr__, __dir__ = attach(__name__, {
    "AllowedFederations": "._config",
    "ClientConfig": "._config",
    "ConfRolledBack": "._config",
    "ConfigurationClient": "._client",
    "RefreshReport": "._config",
    "read_status": "._store",
    "schedule_refresh": "._client",
})
