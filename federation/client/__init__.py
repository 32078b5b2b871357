"""Public face of ``federation.client``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust._lazy import attach

if TYPE_CHECKING:
    from ._client import (
        AllowedFederations, ClientConfig, ConfigurationClient, RefreshReport, schedule_refresh,
    )

__all__ = [
    "AllowedFederations",
    "ClientConfig",
    "ConfigurationClient",
    "RefreshReport",
    "schedule_refresh",
]

__getattr__, __dir__ = attach(__name__, {
    "AllowedFederations": "._client",
    "ClientConfig": "._client",
    "ConfigurationClient": "._client",
    "RefreshReport": "._client",
    "schedule_refresh": "._client",
})
