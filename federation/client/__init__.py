"""Public face of ``federation.client``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._client import ConfigurationClient, schedule_refresh
    from ._config import AllowedFederations, ClientConfig, RefreshReport

__all__ = [
    "AllowedFederations",
    "ClientConfig",
    "ConfigurationClient",
    "RefreshReport",
    "schedule_refresh",
]

__getattr__, __dir__ = attach(__name__, {
    "AllowedFederations": "._config",
    "ClientConfig": "._config",
    "ConfigurationClient": "._client",
    "RefreshReport": "._config",
    "schedule_refresh": "._client",
})
