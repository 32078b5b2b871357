"""Reading stored records back: one for an export, many at a time for an archive.

Why a module of its own: archiving reads every record once, and reading them one by
one (a record, its attachments, its timestamp, its archive link: four statements each)
cost two thirds of an archiving run -- more than building and compressing the
containers. :func:`read_records` reads a batch of records in four statements and
builds the same :class:`StoredRecord` :meth:`MessageLog.get` returns, so export and
archive cannot differ in what they read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Sequence

from sqlalchemy import Connection, select

from gateway.db import schema as m
from ._records import Attachment, StoredRecord

# StoredRecord fields read back as they are from the ml_record column of the same name
STORED_AS_IS = (
    "id", "query_id", "x_request_id", "side", "direction", "kind", "message", "body", "signature",
    "signature_hash", "hash_chain_result", "hash_chain", "body_logged",
)


def aware(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # raw SQLite text from an aggregate
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def read_records(conn: Connection, ids: Sequence[int]) -> list[StoredRecord]:
    """The records of ``ids`` that exist, in the order of ``ids``."""
    if not ids:
        return []
    rows = {row["id"]: row for row in conn.execute(select(m.LogRecord).where(m.LogRecord.id.in_(ids))).mappings()}
    attachments: dict[int, list[bytes]] = defaultdict(list)
    for record_id, data in conn.execute(
        select(m.LogAttachment.record_id, m.LogAttachment.data)
        .where(m.LogAttachment.record_id.in_(ids)).order_by(m.LogAttachment.record_id, m.LogAttachment.position)
    ):
        attachments[record_id].append(data)
    stamps = {row[0]: row[1:] for row in conn.execute(
        select(m.LogRecordTimestamp.record_id, m.LogTimestamp.token, m.LogTimestamp.hash_chain_result,
               m.LogRecordTimestamp.hash_chain, m.LogRecordTimestamp.signature)
        .join(m.LogRecordTimestamp, m.LogRecordTimestamp.timestamp_id == m.LogTimestamp.id)
        .where(m.LogRecordTimestamp.record_id.in_(ids))
    )}
    archived = set(conn.execute(
        select(m.LogRecordArchive.record_id).where(m.LogRecordArchive.record_id.in_(ids))).scalars())
    out = []
    for record_id in ids:
        row = rows.get(record_id)
        if row is None:
            continue
        meta = json.loads(row["attachments"])
        ts = stamps.get(record_id)
        out.append(StoredRecord(
            **{name: row[name] for name in STORED_AS_IS},
            logged_at=aware(row["logged_at"]),  # type: ignore[arg-type]
            client=row["client_id"],
            service=row["service_id"],
            attachments=tuple(Attachment(a["content_type"], d) for a, d in zip(meta, attachments[record_id])),
            timestamp_token=ts[0] if ts else None,
            ts_hash_chain_result=ts[1] if ts else None,
            ts_hash_chain=ts[2] if ts else None,
            stamped_signature=ts[3] if ts else None,
            archived=record_id in archived,
        ))
    return out
