"""Who the central monitoring client is: X-Road names it in the global configuration.

The central server publishes an optional configuration part MONITORING
(``monitoring-params.xml``, schema ``monitoring-conf.xsd``) whose ``monitoringClientId``
is the member or subsystem allowed to read the operational data of every security
server of the instance (X-Road's op-monitoring daemon asks
``GlobalConfExtensions.getMonitoringClient``). The configuration client verifies and
stores that part beside the shared parameters (``federation.client``'s layout,
``conf/<instance>/monitoring-params.xml``); this reads it there, re-parsing only when
the file changed, so a new configuration takes effect without a restart.

No part, an empty ``monitoringClient`` or an unreadable file all mean "no monitoring
client": only the owner then reads everything (and an unreadable file is logged).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from trust.protocol import ClientId

log = logging.getLogger("sild.gateway.monitoring")

MONITORING_FILE = "monitoring-params.xml"
"""The file name ``federation.client`` stores the MONITORING part under (X-Road's name)."""
MAX_FILE = 64 * 1024
"""A monitoring part names one client: anything larger is not one."""


class MonitoringClientSource:
    """``source()`` is the instance's central monitoring client, or None."""

    def __init__(self, conf_directory: Path, instance: str) -> None:
        self._path = Path(conf_directory) / instance / MONITORING_FILE
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._client: ClientId | None = None

    def __call__(self) -> ClientId | None:
        try:
            st = self._path.stat()
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._seen:
                self._client = self._read(st.st_size)
                self._seen = stamp
            return self._client

    def _read(self, size: int) -> ClientId | None:
        from federation.model import parse_monitoring_parameters

        if size > MAX_FILE:
            log.warning("%s is %d bytes: not a monitoring part, ignored", self._path, size)
            return None
        try:
            return parse_monitoring_parameters(self._path.read_bytes()).monitoring_client_id
        except Exception as exc:  # noqa: BLE001 - a bad part must not break the metaservice
            log.warning("monitoring part %s unreadable, no central monitoring client: %s", self._path, exc)
            return None
