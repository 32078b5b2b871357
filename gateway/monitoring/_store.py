"""Operational monitoring: one record per exchange and side, with X-Road's field names.

X-Road's operational monitoring daemon keeps, for every request a security server
handled, a JSON record whose field names are part of the protocol (NOTES 8): the
``getSecurityServerOperationalData`` metaservice returns them, and monitoring tools
read them by name. sild stores the same records with the same names (the whole
record as JSON, plus the columns the queries filter on) and serves them through the
admin API; a record may be written in the proxy's message-log transaction
(``connection=``), so the log and the monitoring data never disagree.

Queries follow ``searchCriteria``: ``recordsFrom``/``recordsTo`` in unix seconds
(inclusive) over ``monitoringDataTs``, and an optional client that matches a record
where it is either the client or the service provider; results are capped and the
answer says where to continue (``nextRecordsFrom``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import Connection, Engine, delete, insert, or_, select

from trust.errors import IdentifierError
from trust.infra import utc_now
from trust.protocol import ClientId, MemberId, ServiceId, SubsystemId

from gateway.db import schema as m
from gateway.errors import GatewayError
from gateway.messagelog import CommitLock

log = logging.getLogger(__name__)

_STR = str
_INT = int
_BOOL = bool

FIELDS: dict[str, type] = {
    "monitoringDataTs": _INT,
    "securityServerInternalIp": _STR,
    "securityServerType": _STR,
    "requestInTs": _INT,
    "requestOutTs": _INT,
    "responseInTs": _INT,
    "responseOutTs": _INT,
    "clientXRoadInstance": _STR,
    "clientMemberClass": _STR,
    "clientMemberCode": _STR,
    "clientSubsystemCode": _STR,
    "serviceXRoadInstance": _STR,
    "serviceMemberClass": _STR,
    "serviceMemberCode": _STR,
    "serviceSubsystemCode": _STR,
    "serviceCode": _STR,
    "serviceVersion": _STR,
    "serviceType": _STR,
    "restMethod": _STR,
    "restPath": _STR,
    "statusCode": _INT,
    "representedPartyClass": _STR,
    "representedPartyCode": _STR,
    "messageId": _STR,
    "messageUserId": _STR,
    "messageIssue": _STR,
    "messageProtocolVersion": _STR,
    "clientSecurityServerAddress": _STR,
    "serviceSecurityServerAddress": _STR,
    "requestSize": _INT,
    "requestMimeSize": _INT,
    "requestAttachmentCount": _INT,
    "responseSize": _INT,
    "responseMimeSize": _INT,
    "responseAttachmentCount": _INT,
    "succeeded": _BOOL,
    "faultCode": _STR,
    "faultString": _STR,
    "xRoadVersion": _STR,
    "xRequestId": _STR,
}
SERVER_TYPES = ("Client", "Producer")
SERVICE_TYPES = ("WSDL", "REST", "OPENAPI")
MAX_RECORDS = 10_000
# compact, keys sorted: one stable text per record
_ENCODE = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


_OP_INSERT = insert(m.OpRecord)  # immutable; built once


class OpMonitoringError(GatewayError):
    code = "gateway.opmonitoring.error"


class InvalidOpRecord(OpMonitoringError):
    code = "gateway.opmonitoring.invalid_record"


class InvalidOpQuery(OpMonitoringError):
    code = "gateway.opmonitoring.invalid_query"


def check_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Validate names and types; ``monitoringDataTs``, ``securityServerType`` and ``succeeded`` are required."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        kind = FIELDS.get(name)
        if kind is None:
            raise InvalidOpRecord(f"unknown operational monitoring field {name!r}")
        if value is None:
            continue
        if type(value) is not kind:  # the exact type is the usual case; otherwise look closer
            if kind is _INT and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidOpRecord(f"{name} must be an integer")
            if kind is _BOOL and not isinstance(value, bool):
                raise InvalidOpRecord(f"{name} must be true or false")
            if kind is _STR and not isinstance(value, str):
                raise InvalidOpRecord(f"{name} must be text")
        out[name] = value
    for required in ("monitoringDataTs", "securityServerType", "succeeded"):
        if required not in out:
            raise InvalidOpRecord(f"operational monitoring record lacks {required}")
    if out["securityServerType"] not in SERVER_TYPES:
        raise InvalidOpRecord(f"securityServerType must be Client or Producer, not {out['securityServerType']!r}")
    if "serviceType" in out and out["serviceType"] not in SERVICE_TYPES:
        raise InvalidOpRecord(f"serviceType must be one of {', '.join(SERVICE_TYPES)}")
    return out


def client_fields(client: ClientId) -> dict[str, str]:
    out = {
        "clientXRoadInstance": client.instance,
        "clientMemberClass": client.member_class,
        "clientMemberCode": client.member_code,
    }
    if isinstance(client, SubsystemId):
        out["clientSubsystemCode"] = client.subsystem_code
    return out


def _client_of(record: Mapping[str, Any], prefix: str) -> str | None:
    try:
        instance = record[f"{prefix}XRoadInstance"]
        member_class = record[f"{prefix}MemberClass"]
        member_code = record[f"{prefix}MemberCode"]
    except KeyError:
        return None
    return _client_text(instance, member_class, member_code, record.get(f"{prefix}SubsystemCode"))


@functools.lru_cache(maxsize=4096)
def _client_text(instance: str, member_class: str, member_code: str, subsystem_code: str | None) -> str:
    """Typed text of a client, cached: the same few clients recur on every record."""
    try:
        ident: ClientId = (
            SubsystemId(instance, member_class, member_code, subsystem_code) if subsystem_code
            else MemberId(instance, member_class, member_code)
        )
    except IdentifierError as exc:
        raise InvalidOpRecord(f"invalid client or service in the record: {exc}") from exc
    return ident.typed_text()


@dataclass(frozen=True)
class OpQueryResult:
    records: list[dict[str, Any]]
    next_records_from: int | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"recordsCount": len(self.records), "records": self.records}
        if self.next_records_from is not None:
            out["nextRecordsFrom"] = self.next_records_from
        return out


class OpMonitor:
    """Stores and queries operational monitoring records on the gateway database."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        retention: dt.timedelta = dt.timedelta(days=7),
    ) -> None:
        self.engine = engine
        self.clock = clock or utc_now
        self.retention = retention

    @staticmethod
    def _row(record: Mapping[str, Any]) -> dict[str, Any]:
        checked = check_record(record)
        return {
            "monitoring_data_ts": checked["monitoringDataTs"],
            "client_id": _client_of(checked, "client"),
            "service_provider_id": _client_of(checked, "service"),
            "data": _ENCODE(checked),
        }

    def store_many(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Store many records in one transaction; invalid ones are logged and skipped.

        Returns how many were stored. Meant for a background writer that batches the
        proxies' records, so monitoring adds no commit to an exchange.
        """
        rows = []
        for record in records:
            try:
                rows.append(self._row(record))
            except InvalidOpRecord as exc:
                log.warning("operational monitoring record skipped: %s", exc)
        if rows:
            with self._writing() as conn:
                conn.execute(_OP_INSERT, rows)
        return len(rows)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction under the log's commit lock: in a gateway with worker processes, the
        message log's writers then wait for it in the kernel, not in SQLite's busy sleeps."""
        lock = CommitLock(self.engine)  # opened per transaction (about once a second): nothing to close later
        try:
            with lock.begin() as conn:
                yield conn
        finally:
            lock.close()

    def store(self, record: Mapping[str, Any], *, connection: Connection | None = None) -> int:
        row = self._row(record)
        if connection is not None:
            return int(connection.execute(_OP_INSERT, row).inserted_primary_key[0])  # type: ignore[index]
        with self._writing() as conn:
            return int(conn.execute(_OP_INSERT, row).inserted_primary_key[0])  # type: ignore[index]

    def query(
        self,
        records_from: int,
        records_to: int,
        *,
        client: ClientId | None = None,
        fields: Sequence[str] | None = None,
        limit: int = MAX_RECORDS,
    ) -> OpQueryResult:
        if records_from < 0 or records_to < records_from:
            raise InvalidOpQuery("recordsFrom must be >= 0 and not after recordsTo")
        if not 1 <= limit <= MAX_RECORDS:
            raise InvalidOpQuery(f"limit must be 1..{MAX_RECORDS}")
        if fields:
            unknown = sorted(set(fields) - set(FIELDS))
            if unknown:
                raise InvalidOpQuery(f"unknown output field(s): {', '.join(unknown)}")
        t = m.OpRecord
        query = select(t.monitoring_data_ts, t.data).where(
            t.monitoring_data_ts >= records_from, t.monitoring_data_ts <= records_to
        )
        if client is not None:
            text = client.typed_text()
            query = query.where(or_(t.client_id == text, t.service_provider_id == text))
        query = query.order_by(t.monitoring_data_ts, t.id).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        next_from = None
        if len(rows) > limit:
            # continue from the second of the first record left out (records of that second repeat)
            next_from = int(rows[limit][0])
            rows = [r for r in rows[:limit] if int(r[0]) < next_from]
        records = [json.loads(r[1]) for r in rows]
        if fields:
            wanted = set(fields)
            records = [{k: v for k, v in rec.items() if k in wanted} for rec in records]
        return OpQueryResult(records, next_from)

    def health(self, since: int, until: int) -> list[dict[str, Any]]:
        """Per-service statistics like ``getSecurityServerHealthData``: successes, failures, mean duration (ms)."""
        stats: dict[tuple[str, str], dict[str, Any]] = {}
        for rec in self.query(since, until).records:
            key = (str(_client_of(rec, "service")), str(rec.get("serviceCode")))
            s = stats.setdefault(key, {"service": key[0], "serviceCode": key[1], "successfulRequestCount": 0,
                                       "unsuccessfulRequestCount": 0, "_durations": []})
            s["successfulRequestCount" if rec.get("succeeded") else "unsuccessfulRequestCount"] += 1
            if "requestInTs" in rec and "responseOutTs" in rec:
                s["_durations"].append(rec["responseOutTs"] - rec["requestInTs"])
        out = []
        for s in stats.values():
            durations = s.pop("_durations")
            s["averageDurationMs"] = sum(durations) / len(durations) if durations else None
            out.append(s)
        return sorted(out, key=lambda s: (s["service"], s["serviceCode"]))

    def schedule(self, scheduler: Any, *, interval_seconds: float = 3600.0, job_id: str = "opmonitoring-cleanup") -> Any:
        """Delete old records every ``interval_seconds`` (APScheduler 3)."""
        return scheduler.add_job(self.cleanup, "interval", seconds=interval_seconds, id=job_id, max_instances=1,
                                 coalesce=True, replace_existing=True)

    def cleanup(self, at: dt.datetime | None = None) -> int:
        """Delete records older than the retention period; returns how many."""
        at = at or self.clock()
        cutoff = int((at - self.retention).timestamp())
        with self._writing() as conn:
            return int(conn.execute(delete(m.OpRecord).where(m.OpRecord.monitoring_data_ts < cutoff)).rowcount or 0)


def ms(moment: dt.datetime) -> int:
    """Milliseconds since the epoch, the unit of X-Road's ``*Ts`` fields."""
    if moment.tzinfo is None:
        raise InvalidOpRecord("naive datetime refused")
    return int(moment.timestamp() * 1000)


def exchange_record(
    *,
    side: str,
    client: ClientId | None,
    service: ServiceId | None,
    service_type: str | None,
    request_in: dt.datetime,
    response_out: dt.datetime,
    succeeded: bool,
    request_out: dt.datetime | None = None,
    response_in: dt.datetime | None = None,
    message_id: str | None = None,
    user_id: str | None = None,
    issue: str | None = None,
    protocol_version: str | None = None,
    represented_party: tuple[str | None, str] | None = None,
    rest_method: str | None = None,
    rest_path: str | None = None,
    status_code: int | None = None,
    fault_code: str | None = None,
    fault_string: str | None = None,
    request_size: int | None = None,
    response_size: int | None = None,
    request_attachments: int | None = None,
    response_attachments: int | None = None,
    x_request_id: str | None = None,
    internal_ip: str | None = None,
    client_server_address: str | None = None,
    service_server_address: str | None = None,
    xroad_version: str | None = None,
) -> dict[str, Any]:
    """One record in X-Road's field names, for the proxy side ``client`` or ``server``.

    ``monitoringDataTs`` (unix seconds) is the moment the response left; the other
    ``*Ts`` fields are milliseconds, as in X-Road. ``None`` values are left out.
    """
    if side not in ("client", "server"):
        raise InvalidOpRecord("side must be client or server")
    record: dict[str, Any] = {
        "monitoringDataTs": int(response_out.timestamp()),
        "securityServerType": "Client" if side == "client" else "Producer",
        "securityServerInternalIp": internal_ip,
        "requestInTs": ms(request_in),
        "requestOutTs": ms(request_out) if request_out else None,
        "responseInTs": ms(response_in) if response_in else None,
        "responseOutTs": ms(response_out),
        "serviceType": service_type,
        "restMethod": rest_method,
        "restPath": rest_path,
        "statusCode": status_code,
        "messageId": message_id,
        "messageUserId": user_id,
        "messageIssue": issue,
        "messageProtocolVersion": protocol_version,
        "clientSecurityServerAddress": client_server_address,
        "serviceSecurityServerAddress": service_server_address,
        "requestSize": request_size,
        "responseSize": response_size,
        "requestAttachmentCount": request_attachments,
        "responseAttachmentCount": response_attachments,
        "succeeded": succeeded,
        "faultCode": fault_code,
        "faultString": fault_string,
        "xRoadVersion": xroad_version,
        "xRequestId": x_request_id,
    }
    if client is not None:
        record.update(client_fields(client))
    if service is not None:
        record.update({
            "serviceXRoadInstance": service.instance,
            "serviceMemberClass": service.member_class,
            "serviceMemberCode": service.member_code,
            "serviceSubsystemCode": service.subsystem_code,
            "serviceCode": service.service_code,
            "serviceVersion": service.service_version,
        })
    if represented_party is not None:
        record["representedPartyClass"], record["representedPartyCode"] = represented_party
    return check_record({k: v for k, v in record.items() if v is not None})


def store_many(monitor: OpMonitor, records: Iterable[Mapping[str, Any]]) -> int:
    """Store a batch in one transaction (see :meth:`OpMonitor.store_many`)."""
    return monitor.store_many(records)
