"""The gateway's view of global configuration, as the proxies need it.

The configuration store (downloads through :mod:`federation.client`), an index of the
parameters, and the view that answers the proxies' questions: which gateways serve a
client, which CAs are approved, whether configuration is still valid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._anchor import AnchorCheck, AnchorRefused, anchor_history, check_anchor, install_anchor
    from ._entries import ClientListing, ServerEntry
    from ._history import ConfHistory, ConfRun
    from ._store import ConfStore
    from ._view import InstanceConf, Router, SharedParamsView, split_address

__all__ = [
    "AnchorCheck",
    "AnchorRefused",
    "ClientListing",
    "ConfHistory",
    "ConfRun",
    "ConfStore",
    "InstanceConf",
    "Router",
    "ServerEntry",
    "SharedParamsView",
    "anchor_history",
    "check_anchor",
    "install_anchor",
    "split_address",
]

__getattr__, __dir__ = attach(__name__, {
    "AnchorCheck": "._anchor",
    "AnchorRefused": "._anchor",
    "anchor_history": "._anchor",
    "check_anchor": "._anchor",
    "install_anchor": "._anchor",
    "ClientListing": "._entries",
    "ConfHistory": "._history",
    "ConfRun": "._history",
    "ConfStore": "._store",
    "InstanceConf": "._view",
    "Router": "._view",
    "ServerEntry": "._entries",
    "SharedParamsView": "._view",
    "split_address": "._view",
})
