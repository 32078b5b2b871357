"""Evidence out of the message log: one record as an ASiC-E container.

One record becomes one ASiC-E container through :func:`trust.evidence.write_container`
(``message.xml`` = the exact signed bytes, REST bodies and SOAP attachments as
``attachmentN``, ``META-INF/signatures.xml``, hash chains, the timestamp), which is
what ``sild asic verify`` and X-Road's verifier check. ``sild gateway log export``
writes one; the archiver (:mod:`._archive`) writes one per record into its archives.

``carry`` (``gateway.conf.ConfHistory.carried``) gives the signed configuration
directories in force at the record's time; they go under ``META-INF/verificationconf/``
so the container verifies with the authority's anchor alone (:mod:`._anchored`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Callable, Sequence

from trust.evidence import write_container

from ._archive_check import ArchiveError
from ._log import MessageLog, RecordNotFound, StoredRecord

_SAFE = re.compile(r"[^A-Za-z0-9._-]")

# (the record's time, the signer's instance) -> entries under META-INF/verificationconf/
Carry = Callable[[dt.datetime, Sequence[str]], Sequence[tuple[str, bytes]]]


def signer_instance(record: StoredRecord) -> str:
    """The instance whose member signed the record: the client's for a request, the provider's for a response."""
    typed = record.client if record.direction == "request" else record.service
    return typed.split(":", 1)[-1].split("/", 1)[0]


class NotTimestamped(ArchiveError):
    code = "gateway.archive.not_timestamped"


def record_container(record: StoredRecord, *, deflate: bool = True, carry: Carry | None = None) -> bytes:
    """The ASiC-E container of one stored record (``deflate=False``: entries stored, for a deflated archive)."""
    attachments: list[bytes] = []
    if record.kind == "REST" and record.body is not None:
        attachments.append(record.body)
    attachments.extend(a.data for a in record.attachments)
    batch = record.batch_timestamp
    return write_container(
        message=record.message,
        signature_xml=record.evidence_signature,
        created=record.logged_at,
        attachments=attachments,
        sig_hash_chain_result=record.hash_chain_result,
        sig_hash_chain=record.hash_chain,
        timestamp_token=record.timestamp_token if batch else None,
        ts_hash_chain_result=record.ts_hash_chain_result if batch else None,
        ts_hash_chain=record.ts_hash_chain if batch else None,
        deflate=deflate,
        configuration=carry(record.logged_at, [signer_instance(record)]) if carry is not None else (),
    )


def export_exchange(
    mlog: MessageLog,
    query_id: str,
    *,
    direction: str = "request",
    side: str | None = None,
    require_timestamp: bool = False,
    carry: Carry | None = None,
) -> bytes:
    """The container of one exchange's request or response (the first such record when both sides are local)."""
    if direction not in ("request", "response"):
        raise ArchiveError(f"direction must be request or response, not {direction!r}", code="gateway.archive.bad_direction")
    records = mlog.find(query_id, direction=direction, side=side)
    if not records:
        raise RecordNotFound(f"no {direction} with query id {query_id!r} in the message log")
    record = records[0]
    if require_timestamp and record.timestamp_token is None and record.stamped_signature is None:
        raise NotTimestamped(f"the {direction} of {query_id!r} has no timestamp yet")
    return record_container(record, carry=carry)


def entry_name(record: StoredRecord) -> str:
    return f"{_SAFE.sub('_', record.query_id)[:100]}-{record.direction}-{record.side}-{record.id}.asice"
