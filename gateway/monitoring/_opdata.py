"""What X-Road's operational-monitoring metaservices return, computed from the stored records.

``getSecurityServerOperationalData`` and ``getSecurityServerHealthData`` (NOTES 8) are
answered by X-Road's monitoring daemon with rules a central monitoring client relies on;
the SOAP side is :mod:`gateway.proxy._opmonitoring`, the rules are here:

* **Who sees what.** The gateway's owner and the instance's central monitoring client
  (``monitoringClientId`` of the configuration's MONITORING part) see every record; any
  other caller only records where it is the client or the service provider, and without
  ``securityServerInternalIp``. ``searchCriteria/client`` then keeps records whose
  *service provider* is that client (X-Road's code does exactly this, whatever the
  schema's wording).
* **Records not yet complete are not served.** A record's ``monitoringDataTs`` is the
  second it was stored (``MonitoringFeed.flush``); a second is served only once
  :data:`RECORDS_AVAILABLE_OFFSET_SECONDS` have passed, so a reader that continues from
  ``nextRecordsFrom`` never misses a record stored late. A ``recordsTo`` beyond that is
  cut, and ``nextRecordsFrom`` says where to continue.
* **Bounded answers without loss.** At most ``limit`` records, plus the rest of the last
  second (so a second is never split between two answers); ``nextRecordsFrom`` is the
  next second when more records wait.
* **Health data** covers the last ``statistics period`` of *Producer* records (requests
  this gateway served), per service: counts of successful and failed requests, the last
  of each, and duration and size statistics of the successful ones.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from sqlalchemy import or_, select

from trust.errors import IdentifierError
from trust.protocol import ClientId, ServiceId

from gateway.db import schema as m

from ._store import FIELDS, MAX_RECORDS, InvalidOpQuery, OpMonitor

RECORDS_AVAILABLE_OFFSET_SECONDS = 2
"""Seconds a stored second waits before it is served: records are stored in batches about once a
second (``MonitoringFeed``), so two seconds cover a batch that commits late. (X-Road's daemon
waits 60 s: it stores what proxies send it over the network.)"""
MAX_OVERFLOW = 10 * MAX_RECORDS
"""At most this many records of the answer's last second are added beyond ``limit``."""
STATISTICS_PERIOD_SECONDS = 600
"""The health data period: X-Road's default ``health-statistics-period-seconds``."""
MAX_HEALTH_RECORDS = 200_000
"""Health data reads at most this many records of the period (the newest are dropped past it)."""
INTERNAL_FIELDS = frozenset({"securityServerInternalIp"})
"""Fields only the owner and the monitoring client get (X-Road's public output fields leave them out)."""


@dataclass(frozen=True)
class OperationalData:
    records: list[dict[str, Any]]
    next_records_from: int | None

    def payload(self) -> bytes:
        """The JSON of the records attachment, as X-Road's daemon writes it: ``{"records":[...]}``."""
        return json.dumps({"records": self.records}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def operational_data(monitor: OpMonitor, records_from: int, records_to: int, *, now: int,
                     requester: ClientId | None = None, provider: ClientId | None = None,
                     fields: Sequence[str] = (), limit: int = MAX_RECORDS,
                     offset: int = RECORDS_AVAILABLE_OFFSET_SECONDS) -> OperationalData:
    """``getSecurityServerOperationalData``'s records; ``requester`` None = sees everything.

    ``now`` is the current unix second. Raises :class:`InvalidOpQuery` for what X-Road
    refuses as ``client.invalid_request``.
    """
    if records_from < 0 or records_to < 0:
        raise InvalidOpQuery("recordsFrom and recordsTo must not be negative")
    if records_to < records_from:
        raise InvalidOpQuery("recordsTo is earlier than recordsFrom")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidOpQuery(f"unknown output field(s) in outputSpec: {', '.join(unknown)}")
    if not 1 <= limit <= MAX_RECORDS:
        raise InvalidOpQuery(f"limit must be 1..{MAX_RECORDS}")
    available_before = now - offset
    if records_from >= available_before:
        raise InvalidOpQuery(f"records are not available from {records_from} yet (try again after "
                             f"{records_from + offset})")
    next_from: int | None = None
    if records_to >= available_before:
        records_to, next_from = available_before - 1, available_before
    rows = _rows(monitor, records_from, records_to, requester, provider, limit)
    if len(rows) == limit:
        last = rows[-1][0]
        rows = [r for r in rows if r[0] != last] + _rows(monitor, last, last, requester, provider, MAX_OVERFLOW)
        if last < records_to and _rows(monitor, last + 1, records_to, requester, provider, 1):
            next_from = last + 1
    return OperationalData([_shape(json.loads(r[1]), fields, requester is not None) for r in rows], next_from)


def _rows(monitor: OpMonitor, first: int, last: int, requester: ClientId | None, provider: ClientId | None,
          limit: int) -> list[tuple[int, str]]:
    t = m.OpRecord
    query = select(t.monitoring_data_ts, t.data).where(t.monitoring_data_ts >= first, t.monitoring_data_ts <= last)
    if requester is not None:
        text = requester.typed_text()
        query = query.where(or_(t.client_id == text, t.service_provider_id == text))
    if provider is not None:
        query = query.where(t.service_provider_id == provider.typed_text())
    query = query.order_by(t.monitoring_data_ts, t.id).limit(limit)
    with monitor.engine.connect() as conn:
        return [(int(ts), str(data)) for ts, data in conn.execute(query).all()]


def _shape(record: dict[str, Any], fields: Sequence[str], public_only: bool) -> dict[str, Any]:
    """Only the requested fields (``monitoringDataTs`` only when asked for), internal ones only for insiders."""
    if fields:
        record = {k: v for k, v in record.items() if k in fields}
    if public_only:
        record = {k: v for k, v in record.items() if k not in INTERNAL_FIELDS}
    return record


# -- health data --------------------------------------------------------------------------------


@dataclass
class HealthSpread:
    """min / mean / max / standard deviation of some values, as X-Road's histograms give them."""

    values: list[int] = field(default_factory=list)

    def figures(self) -> tuple[int, float, int, float] | None:
        if not self.values:
            return None
        deviation = statistics.stdev(self.values) if len(self.values) > 1 else 0.0
        return min(self.values), statistics.fmean(self.values), max(self.values), deviation


@dataclass
class ServiceHealth:
    """One ``serviceEvents`` element."""

    service: ServiceId
    service_type: str | None = None
    last_successful: int | None = None  # ms
    last_unsuccessful: int | None = None  # ms
    successful: int = 0
    unsuccessful: int = 0
    duration: HealthSpread = field(default_factory=HealthSpread)
    request_size: HealthSpread = field(default_factory=HealthSpread)
    response_size: HealthSpread = field(default_factory=HealthSpread)

    def add(self, record: dict[str, Any]) -> None:
        ok = bool(record.get("succeeded"))
        at = record.get("responseOutTs")
        if ok:
            self.successful += 1
            if isinstance(at, int):
                self.last_successful = max(at, self.last_successful or at)
            if isinstance(at, int) and isinstance(record.get("requestInTs"), int):
                self.duration.values.append(at - record["requestInTs"])
            for name, spread in (("requestSize", self.request_size), ("responseSize", self.response_size)):
                if isinstance(record.get(name), int):
                    spread.values.append(record[name])
        else:
            self.unsuccessful += 1
            if isinstance(at, int):
                self.last_unsuccessful = max(at, self.last_unsuccessful or at)
        if record.get("serviceType"):
            self.service_type = record["serviceType"]


def health_data(monitor: OpMonitor, *, now: int, provider: ClientId | None = None,
                period: int = STATISTICS_PERIOD_SECONDS) -> list[ServiceHealth]:
    """Per-service health of the last ``period`` seconds up to ``now`` (unix seconds), sorted by service."""
    t = m.OpRecord
    query = select(t.data).where(t.monitoring_data_ts > now - period, t.monitoring_data_ts <= now)
    if provider is not None:
        query = query.where(t.service_provider_id == provider.typed_text())
    query = query.order_by(t.monitoring_data_ts, t.id).limit(MAX_HEALTH_RECORDS)
    with monitor.engine.connect() as conn:
        records: Iterable[dict[str, Any]] = (json.loads(d) for (d,) in conn.execute(query).all())
        found: dict[ServiceId, ServiceHealth] = {}
        for record in records:
            if record.get("securityServerType") != "Producer":
                continue  # health is about the services this gateway serves
            service = _service_of(record)
            if service is not None:
                found.setdefault(service, ServiceHealth(service)).add(record)
    return sorted(found.values(), key=lambda h: h.service.typed_text())


def _service_of(record: dict[str, Any]) -> ServiceId | None:
    try:
        return ServiceId(record["serviceXRoadInstance"], record["serviceMemberClass"], record["serviceMemberCode"],
                         record.get("serviceSubsystemCode"), record["serviceCode"], record.get("serviceVersion"))
    except (KeyError, IdentifierError):
        return None


def xs_double(value: float) -> str:
    """An ``xs:double`` lexical form (``INF``/``NaN`` never occur for finite figures)."""
    return repr(float(value)) if math.isfinite(value) else "NaN"
