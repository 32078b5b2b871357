"""Operational monitoring and metrics.

The typed record of one exchange (``OpNote``), the feed that writes records off the
hot path, the operational-monitoring store, what X-Road's op-monitoring metaservices
return from it (and who the central monitoring client is), and the Prometheus metrics
of a node (summed across its worker processes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._feed import MonitoringFeed
    from ._metrics import GatewayMetrics
    from ._monitoring_client import MonitoringClientSource
    from ._note import OpNote
    from ._opdata import (
        RECORDS_AVAILABLE_OFFSET_SECONDS, STATISTICS_PERIOD_SECONDS, HealthSpread, OperationalData, ServiceHealth,
        health_data, operational_data, xs_double,
    )
    from ._store import MAX_RECORDS, OpMonitor, OpMonitoringError, exchange_record

__all__ = [
    "GatewayMetrics",
    "HealthSpread",
    "MAX_RECORDS",
    "MonitoringClientSource",
    "MonitoringFeed",
    "OpMonitor",
    "OpMonitoringError",
    "OpNote",
    "OperationalData",
    "RECORDS_AVAILABLE_OFFSET_SECONDS",
    "STATISTICS_PERIOD_SECONDS",
    "ServiceHealth",
    "exchange_record",
    "health_data",
    "operational_data",
    "xs_double",
]

__getattr__, __dir__ = attach(__name__, {
    "GatewayMetrics": "._metrics",
    "HealthSpread": "._opdata",
    "MAX_RECORDS": "._store",
    "MonitoringClientSource": "._monitoring_client",
    "MonitoringFeed": "._feed",
    "OpMonitor": "._store",
    "OpMonitoringError": "._store",
    "OpNote": "._note",
    "OperationalData": "._opdata",
    "RECORDS_AVAILABLE_OFFSET_SECONDS": "._opdata",
    "STATISTICS_PERIOD_SECONDS": "._opdata",
    "ServiceHealth": "._opdata",
    "exchange_record": "._store",
    "health_data": "._opdata",
    "operational_data": "._opdata",
    "xs_double": "._opdata",
})
