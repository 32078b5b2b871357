"""What the gateway's admin API works on, gathered once by the node.

The blueprints of :mod:`gateway.admin` read everything through one
:class:`AdminConfig` handed to :func:`gateway.admin.create_app`: the server
configuration, and the optional message log, operational monitoring, metrics and
the fetcher used to download service descriptions. Nothing is looked up globally,
so a test builds an app over its own database and clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from trust.keys import KeyRegistry

from gateway.messagelog import MessageLog
from gateway.monitoring import GatewayMetrics, OpMonitor
from gateway.serverconf import Fetch, ServerConf, default_fetch


@dataclass(frozen=True)
class AdminConfig:
    """What the admin API works on; built once by the node and handed to :func:`create_app`."""

    conf: ServerConf
    messagelog: MessageLog | None = None
    opmonitor: OpMonitor | None = None
    metrics: GatewayMetrics | None = None
    worker_metrics: Path | None = None  # where the node's worker processes leave their figures
    fetch: Fetch = default_fetch
    clock: Callable[[], dt.datetime] | None = None
    # the node's own report (configuration, OCSP of own certificates, registration) and
    # its "fetch OCSP responses now"; absent when the app runs without a node
    node_status: Callable[[], dict[str, Any]] | None = None
    refresh_ocsp: Callable[[], dict[str, Any]] | None = None
    directory: Path | None = None  # the gateway directory (what POST /api/v1/backup backs up)
    keys: KeyRegistry | None = None  # the node's key registry (/api/v1/keys works on it; else the directory's)
    drain: Callable[[float | None, float | None], dict[str, Any]] | None = None  # the node's drain (POST /api/v1/drain)
    timestamping: Any = None  # the node's TSAs: tsa_services(), choose_tsas(), check_settings(), timestamp_run()

    @classmethod
    def from_node(cls, node: Any) -> AdminConfig:
        """Build from an object with ``serverconf`` (and optionally ``messagelog``, ``opmonitor``, ``metrics``)."""
        conf = getattr(node, "serverconf", None)
        if not isinstance(conf, ServerConf):
            raise TypeError("the admin API needs a ServerConf (an AdminConfig, or an object with .serverconf)")
        return cls(
            conf,
            messagelog=getattr(node, "messagelog", None),
            opmonitor=getattr(node, "opmonitor", None),
            metrics=getattr(node, "metrics", None),
            worker_metrics=getattr(node, "worker_metrics_dir", None),
            node_status=getattr(node, "status", None),
            refresh_ocsp=getattr(node, "refresh_ocsp_now", None),
            directory=getattr(node, "directory", None),
            keys=keys if isinstance(keys := getattr(node, "keys", None), KeyRegistry) else None,
            drain=getattr(node, "drain_now", None),
            timestamping=node if hasattr(node, "timestamp_run") else None,
        )
