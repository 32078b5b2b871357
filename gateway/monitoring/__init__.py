"""Operational monitoring and metrics.

The typed record of one exchange (``OpNote``), the feed that writes records off the
hot path, the operational-monitoring store, and the Prometheus metrics of a node
(summed across its worker processes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._feed import MonitoringFeed
    from ._metrics import GatewayMetrics
    from ._note import OpNote
    from ._store import OpMonitor, OpMonitoringError, exchange_record

__all__ = [
    "GatewayMetrics",
    "MonitoringFeed",
    "OpMonitor",
    "OpMonitoringError",
    "OpNote",
    "exchange_record",
]

__getattr__, __dir__ = attach(__name__, {
    "GatewayMetrics": "._metrics",
    "MonitoringFeed": "._feed",
    "OpMonitor": "._store",
    "OpMonitoringError": "._store",
    "OpNote": "._note",
    "exchange_record": "._store",
})
