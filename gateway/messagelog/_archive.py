"""Evidence out of the message log: ASiC-E export of one exchange, and chained archives.

**Export.** One record becomes one ASiC-E container through :func:`trust.evidence._asic.write_container`
(``message.xml`` = the exact signed bytes, REST bodies and SOAP attachments as
``attachmentN``, ``META-INF/signatures.xml``, hash chains, the timestamp), which is
what ``sild asic verify`` and X-Road's verifier check.

**Archives.** Every few hours (X-Road: 6) timestamped records that are not archived yet
go into a ZIP of ``<queryId>-<direction>-<side>-<id>.asice`` files plus ``linkinginfo``
(NOTES 7): its first line ``<previous archive digest> <previous archive name> SHA-512``
chains this archive to the one before; every other line is ``<digest> <entry name>``.
The archive's own digest (SHA-512 of the ZIP) is stored in ``ml_archive`` and written
into the next archive, so removing, reordering or editing any archive breaks the chain
(:func:`verify_archive_chain`). Files are written atomically (temporary name, fsync,
rename) before the database records them; a crash in between leaves a file that the
next run overwrites.

**Retention.** Rows that are archived and older than ``keep`` (X-Road: 30 days) are
deleted in short batches; the table the proxy appends to is touched only by these
deletes, never by long transactions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import delete, insert, select

from trust.evidence import write_container
from trust.infra import write_atomic

from gateway.db import schema as m
from gateway.errors import GatewayError
from ._log import MessageLog, RecordNotFound, StoredRecord

log = logging.getLogger(__name__)

LINKING_INFO = "linkinginfo"
DIGEST_NAME = "SHA-512"
GENESIS_DIGEST = "0" * 128
GENESIS_NAME = "-"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class ArchiveError(GatewayError):
    code = "gateway.archive.error"


class ArchiveChainBroken(ArchiveError):
    code = "gateway.archive.chain_broken"


class NotTimestamped(ArchiveError):
    code = "gateway.archive.not_timestamped"


# -- export ------------------------------------------------------------------------------


def record_container(record: StoredRecord) -> bytes:
    """The ASiC-E container of one stored record."""
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
    )


def export_exchange(
    mlog: MessageLog,
    query_id: str,
    *,
    direction: str = "request",
    side: str | None = None,
    require_timestamp: bool = False,
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
    return record_container(record)


def entry_name(record: StoredRecord) -> str:
    return f"{_SAFE.sub('_', record.query_id)[:100]}-{record.direction}-{record.side}-{record.id}.asice"


# -- archives -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveInfo:
    file: Path
    digest: str
    prev_digest: str
    record_count: int


def build_archive(entries: Sequence[tuple[str, bytes]], prev_digest: str, prev_name: str, created: dt.datetime) -> bytes:
    lines = [f"{prev_digest} {prev_name} {DIGEST_NAME}"]
    lines += [f"{hashlib.sha512(data).hexdigest()} {name}" for name, data in entries]
    stamp = created.astimezone(dt.timezone.utc).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in [*entries, (LINKING_INFO, ("\n".join(lines) + "\n").encode("ascii"))]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED  # ASiC containers are compressed already
            archive.writestr(info, data)
    return buffer.getvalue()


class Archiver:
    """Moves timestamped records into chained archive files and enforces retention."""

    def __init__(
        self,
        mlog: MessageLog,
        directory: Path | str,
        *,
        keep: dt.timedelta = dt.timedelta(days=30),
        max_records: int = 1000,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if max_records < 1:
            raise ValueError("max_records must be positive")
        self.log = mlog
        self.directory = Path(directory)
        self.keep = keep
        self.max_records = max_records
        self.clock = clock or mlog.clock

    def _candidates(self) -> list[int]:
        with self.log.engine.connect() as conn:
            ids = conn.execute(
                select(m.LogRecord.id)
                .join(m.LogRecordTimestamp, m.LogRecordTimestamp.record_id == m.LogRecord.id)
                .outerjoin(m.LogRecordArchive, m.LogRecordArchive.record_id == m.LogRecord.id)
                .where(m.LogRecordArchive.record_id.is_(None))
                .order_by(m.LogRecord.id)
                .limit(self.max_records)
            ).scalars().all()
        return [int(i) for i in ids]

    def _head(self) -> tuple[str, str, int]:
        with self.log.engine.connect() as conn:
            row = conn.execute(
                select(m.LogArchive.id, m.LogArchive.digest, m.LogArchive.file_name).order_by(m.LogArchive.id.desc()).limit(1)
            ).first()
        if row is None:
            return GENESIS_DIGEST, GENESIS_NAME, 1
        return row.digest, row.file_name, int(row.id) + 1

    def archive_once(self, at: dt.datetime | None = None) -> ArchiveInfo | None:
        """Write one archive of up to ``max_records`` records; ``None`` when there is nothing to archive."""
        at = at or self.clock()
        ids = self._candidates()
        if not ids:
            return None
        records = [self.log.get(i) for i in ids]
        entries = [(entry_name(r), record_container(r)) for r in records]
        prev_digest, prev_name, seq = self._head()
        data = build_archive(entries, prev_digest, prev_name, at)
        digest = hashlib.sha512(data).hexdigest()
        name = f"mlog-{records[0].logged_at:%Y%m%d%H%M%S}-{records[-1].logged_at:%Y%m%d%H%M%S}-{seq:06d}.zip"
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        # permissions from the umask, as before; the rename is durable before the database records it
        write_atomic(path, data, mode=None, sync_directory=True)
        with self.log.commit_lock.begin() as conn:
            archive_id = conn.execute(
                insert(m.LogArchive),
                {"created_at": at, "file_name": name, "digest": digest, "prev_digest": prev_digest,
                 "first_record": ids[0], "last_record": ids[-1], "record_count": len(ids)},
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(insert(m.LogRecordArchive), [{"record_id": i, "archive_id": archive_id} for i in ids])
        log.info("message log: archived %d record(s) into %s", len(ids), name)
        return ArchiveInfo(path, digest, prev_digest, len(ids))

    def archive_all(self, at: dt.datetime | None = None) -> list[ArchiveInfo]:
        out = []
        while (info := self.archive_once(at)) is not None:
            out.append(info)
        return out

    def cleanup(self, at: dt.datetime | None = None, *, batch: int = 500) -> int:
        """Delete archived records older than ``keep``, in short transactions; returns how many."""
        at = at or self.clock()
        cutoff = at - self.keep
        total = 0
        while True:
            with self.log.commit_lock.begin() as conn:
                ids = conn.execute(
                    select(m.LogRecord.id)
                    .join(m.LogRecordArchive, m.LogRecordArchive.record_id == m.LogRecord.id)
                    .where(m.LogRecord.logged_at < cutoff)
                    .limit(batch)
                ).scalars().all()
                if not ids:
                    break
                for table in (m.LogAttachment, m.LogRecordTimestamp, m.LogRecordArchive):
                    conn.execute(delete(table).where(table.record_id.in_(ids)))
                conn.execute(delete(m.LogRecord).where(m.LogRecord.id.in_(ids)))
                total += len(ids)
        with self.log.commit_lock.begin() as conn:
            used = select(m.LogRecordTimestamp.timestamp_id)
            conn.execute(delete(m.LogTimestamp).where(m.LogTimestamp.id.not_in(used)))
        return total

    def run(self, at: dt.datetime | None = None) -> int:
        archived = sum(a.record_count for a in self.archive_all(at))
        self.cleanup(at)
        return archived

    def schedule(self, scheduler: Any, *, interval_seconds: float = 6 * 3600, job_id: str = "messagelog-archiving") -> Any:
        def job() -> None:
            try:
                self.run()
            except (GatewayError, OSError) as exc:
                log.error("message log archiving failed: %s", exc)

        return scheduler.add_job(
            job, "interval", seconds=interval_seconds, id=job_id, max_instances=1, coalesce=True, replace_existing=True
        )


def read_linking_info(path: Path) -> tuple[tuple[str, str], list[tuple[str, str]], dict[str, bytes]]:
    """((prev digest, prev name), [(digest, entry)], entries) of one archive file."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveChainBroken(f"{path.name} is not a readable archive: {exc}") from exc
    info = entries.pop(LINKING_INFO, None)
    if info is None:
        raise ArchiveChainBroken(f"{path.name} has no linkinginfo")
    lines = info.decode("ascii", "replace").splitlines()
    head = lines[0].split(" ") if lines else []
    if len(head) != 3 or head[2] != DIGEST_NAME:
        raise ArchiveChainBroken(f"{path.name}: first linkinginfo line must be '<digest> <file> {DIGEST_NAME}'")
    listed = [tuple(line.split(" ", 1)) for line in lines[1:] if line]
    return (head[0], head[1]), [(d, n) for d, n in listed], entries


def verify_archive_chain(paths: Sequence[Path]) -> int:
    """Check archives (oldest first) link to each other and hold what they list; returns entries checked."""
    prev_digest, prev_name = GENESIS_DIGEST, GENESIS_NAME
    checked = 0
    for path in paths:
        (link_digest, link_name), listed, entries = read_linking_info(path)
        if (link_digest, link_name) != (prev_digest, prev_name):
            raise ArchiveChainBroken(f"{path.name} does not link to {prev_name} (archive missing, reordered or altered)")
        if sorted(n for _, n in listed) != sorted(entries):
            raise ArchiveChainBroken(f"{path.name}: linkinginfo does not list exactly the archive's entries")
        for digest, name in listed:
            if hashlib.sha512(entries[name]).hexdigest() != digest:
                raise ArchiveChainBroken(f"{path.name}: {name} does not match its digest")
            checked += 1
        prev_digest, prev_name = hashlib.sha512(path.read_bytes()).hexdigest(), path.name
    return checked
