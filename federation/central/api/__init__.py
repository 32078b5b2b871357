"""Public face of ``federation.central.api``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._app import CentralAppConfig, create_app

__all__ = [
    "CentralAppConfig",
    "create_app",
]

__getattr__, __dir__ = attach(__name__, {
    "CentralAppConfig": "._app",
    "create_app": "._app",
})
