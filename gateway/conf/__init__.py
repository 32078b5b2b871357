"""Public face of ``gateway.conf``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._store import ConfStore
    from ._view import InstanceConf, Router, SharedParamsView, split_address

__all__ = [
    "ConfStore",
    "InstanceConf",
    "Router",
    "SharedParamsView",
    "split_address",
]

__getattr__, __dir__ = attach(__name__, {
    "ConfStore": "._store",
    "InstanceConf": "._view",
    "Router": "._view",
    "SharedParamsView": "._view",
    "split_address": "._view",
})
