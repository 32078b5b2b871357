"""Finding records in the message log by exchange id, client, service or time, newest first.

An auditor rarely knows an exchange's query id; they know who called whom, and
roughly when (X-Road's security server UI searches the same way). The search reads
only the index columns, never a message or body, and returns at most a page of
summaries; the exchange itself is then exported as ASiC-E by its query id
(:func:`gateway.messagelog.export_exchange`). Client and service match as text
fragments of their identifiers (``GOV/70000001`` finds every subsystem of that
member), case-sensitive as identifiers are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from gateway.db import schema as m

MAX_PAGE = 500


@dataclass(frozen=True)
class RecordSummary:
    """One record as a search lists it: enough to choose the exchange to export."""

    id: int
    logged_at: dt.datetime
    query_id: str
    client: str
    service: str
    side: str
    direction: str
    kind: str
    timestamped: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "logged_at": self.logged_at.isoformat(), "query_id": self.query_id,
                "client": self.client, "service": self.service, "side": self.side, "direction": self.direction,
                "kind": self.kind, "timestamped": self.timestamped}


def search_records(log: Any, *, query_id: str | None = None, client: str | None = None, service: str | None = None,
                   since: dt.datetime | None = None, until: dt.datetime | None = None, before: int | None = None,
                   limit: int = 50) -> list[RecordSummary]:
    """Records of ``log`` (a :class:`~gateway.messagelog.MessageLog`) matching every given criterion, newest first.

    ``before`` pages: only records with a smaller id. ``limit`` is bounded by :data:`MAX_PAGE`.
    """
    r, ts = m.LogRecord, m.LogRecordTimestamp
    query = (select(r.id, r.logged_at, r.query_id, r.client_id, r.service_id, r.side, r.direction, r.kind,
                    ts.record_id.is_not(None).label("timestamped"))
             .outerjoin(ts, ts.record_id == r.id).order_by(r.id.desc()).limit(max(1, min(limit, MAX_PAGE))))
    if query_id:
        query = query.where(r.query_id == query_id)
    if client:
        query = query.where(r.client_id.contains(client, autoescape=True))
    if service:
        query = query.where(r.service_id.contains(service, autoescape=True))
    if since is not None:
        query = query.where(r.logged_at >= since)
    if until is not None:
        query = query.where(r.logged_at <= until)
    if before is not None:
        query = query.where(r.id < before)
    with log.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [RecordSummary(row.id, _aware(row.logged_at), row.query_id, row.client_id, row.service_id, row.side,
                          row.direction, row.kind, bool(row.timestamped)) for row in rows]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)
