"""Evidence out of the message log into chained archives (one exchange's export: :mod:`._export`).

**Archives.** On a schedule (X-Road: every 6 hours) and early when the timestamped
records not archived yet exceed a size (``archive_threshold_mib``: at full load a log
grows by hundreds of MB a minute, and six hours of it would not fit), timestamped
records go into a deflated ZIP of ``<queryId>-<direction>-<side>-<id>.asice`` files
plus ``linkinginfo`` (NOTES 7), chained to the archive before by its SHA-512
(:mod:`gateway.messagelog._archive_check` reads and checks them offline). The file is
complete and fsynced before the database records it, and carries its final name only
after; see :class:`Archiver` for what a crash leaves.

**Retention.** Rows that are archived and older than ``keep`` (X-Road: 30 days) are
deleted in short batches; the table the proxy appends to is touched only by these
deletes, never by long transactions. A row that is not archived is never deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import delete, func, insert, select

from trust.infra import fsync_directory

from gateway.db import schema as m
from gateway.errors import GatewayError
from gateway.settings import NodeSettings
from ._archive_check import (
    DIGEST_NAME, GENESIS_DIGEST, GENESIS_NAME, LINKING_INFO, PARTIAL_GLOB, ArchiveChainBroken, ArchiveError,
    archive_sequence, file_digest, read_linking_info, verify_archive_chain,
)
from ._export import Carry, NotTimestamped, entry_name, export_exchange, record_container
from ._lock import exclusive_run
from ._log import MessageLog, StoredRecord
from ._reading import read_records
from ._records import STATE_FLOOR
from ._timestamper import Timestamper

__all__ = ["ArchiveChainBroken", "ArchiveError", "Archiver", "ArchiveInfo", "ArchivePolicy", "NotTimestamped",
           "export_exchange", "read_linking_info", "verify_archive_chain"]

log = logging.getLogger(__name__)

STATE_LAST_RUN = "archive_last_run"  # ml_state: when archiving last ran (the schedule counts from it)
CHECK_SECONDS = 60  # how often the scheduled job asks whether archiving is due
READ_BATCH = 50  # records read per round trip while archiving


# -- archives -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveInfo:
    file: Path
    digest: str
    prev_digest: str
    record_count: int
    size: int = 0  # bytes of the archive file
    raw_size: int = 0  # bytes of its containers (and linkinginfo) before the archive's deflate


@dataclass(frozen=True)
class ArchivePolicy:
    """When and where to archive, and how long archived records stay (``gateway.json``'s archive settings)."""

    directory: Path
    interval: dt.timedelta = dt.timedelta(hours=6)
    threshold_bytes: int = 0  # archive early above this backlog; 0 = by schedule only
    keep: dt.timedelta = dt.timedelta(days=30)

    @classmethod
    def of(cls, settings: NodeSettings, gateway_dir: Path) -> "ArchivePolicy":
        return cls(settings.archive_directory(gateway_dir), dt.timedelta(seconds=settings.archive_interval_seconds),
                   settings.archive_threshold_mib * 1024 * 1024, dt.timedelta(days=settings.messagelog_keep_days))


def publish(part: Path, final: Path) -> None:
    """Give a complete ``.part`` file its archive name, durably, never over another file of that name.

    Why not a plain rename: a rename replaces what it finds, and an archive directory
    shared by two nodes (each with its own chain) would lose one node's archive to the
    other's. A hard link fails instead; file systems without hard links get a check.
    """
    try:
        os.link(part, final)
    except FileExistsError:
        raise ArchiveError(f"{final} exists already: is archive_dir shared with another node? Each node's chain "
                           "needs a directory of its own", code="gateway.archive.name_taken") from None
    except OSError:  # no hard links here (some network or FAT file systems)
        if final.exists():
            raise ArchiveError(f"{final} exists already", code="gateway.archive.name_taken") from None
        os.replace(part, final)
    else:
        part.unlink()
    fsync_directory(final.parent)


class Archiver:
    """Moves timestamped records into chained archive files and enforces retention.

    One archive at a time, one record in memory at a time: the ZIP is written straight
    to ``.mlog-<seq>.part`` (deflated, at most ``max_records`` records and about
    ``max_bytes``), fsynced, then recorded in the database, then renamed to its final
    ``mlog-<first>-<last>-<seq>.zip`` name. Whatever a crash interrupts, nothing named
    like an archive is incomplete or unrecorded: a ``.part`` file the database does not
    know is deleted by the next run, and one it knows (the crash fell between the commit
    and the rename) is renamed by it (:meth:`recover`).
    """

    def __init__(
        self,
        mlog: MessageLog,
        directory: Path | str,
        *,
        keep: dt.timedelta = dt.timedelta(days=30),
        max_records: int = 1000,
        max_bytes: int = 32 * 1024 * 1024,
        interval: dt.timedelta = dt.timedelta(hours=6),
        threshold_bytes: int = 0,
        clock: Callable[[], dt.datetime] | None = None,
        carry: Carry | None = None,
    ) -> None:
        if max_records < 1 or max_bytes < 1:
            raise ValueError("max_records and max_bytes must be positive")
        self.log = mlog
        self.max_records = max_records
        self.max_bytes = max_bytes  # X-Road's archive-max-filesize
        self.clock = clock or mlog.clock
        self.carry = carry  # the signed configuration of a record's time, into its container
        self._policy: Callable[[], ArchivePolicy] | None = None
        self._floor = 0  # below it everything is archived (_candidates); found again after a restart
        self.apply(ArchivePolicy(Path(directory), interval, threshold_bytes, keep))

    def apply(self, policy: ArchivePolicy) -> None:
        self.directory, self.interval = policy.directory, policy.interval
        self.threshold_bytes, self.keep = policy.threshold_bytes, policy.keep

    def follow(self, policy: Callable[[], ArchivePolicy]) -> "Archiver":
        """Take ``policy()`` again at every scheduled check: settings changed in a running node apply."""
        self._policy = policy
        return self

    def _candidates(self) -> list[int]:
        """Timestamped records not archived yet, oldest first, from :attr:`_floor` on.

        Why the floor: without it every call walked the archived rows kept for
        ``keep`` days (millions at a high rate) to find the first one that is not. Below
        it every record is stamped and archived: records up to the timestamper's floor
        are all stamped (read first, so before the candidates), and a stamped record below
        the first candidate is archived.
        """
        with self.log.engine.connect() as conn:
            stamped = int(conn.execute(select(m.LogState.value).where(m.LogState.key == STATE_FLOOR)).scalar() or 0)
            ids = [int(i) for i in conn.execute(
                select(m.LogRecord.id)
                .join(m.LogRecordTimestamp, m.LogRecordTimestamp.record_id == m.LogRecord.id)
                .outerjoin(m.LogRecordArchive, m.LogRecordArchive.record_id == m.LogRecord.id)
                .where(m.LogRecordArchive.record_id.is_(None), m.LogRecord.id >= self._floor)
                .order_by(m.LogRecord.id)
                .limit(self.max_records)
            ).scalars()]
        self._floor = max(self._floor, min(ids[0] if ids else stamped + 1, stamped + 1))
        return ids

    def _head(self) -> tuple[str, str, int]:
        with self.log.engine.connect() as conn:
            row = conn.execute(
                select(m.LogArchive.id, m.LogArchive.digest, m.LogArchive.file_name).order_by(m.LogArchive.id.desc()).limit(1)
            ).first()
        if row is None:
            return GENESIS_DIGEST, GENESIS_NAME, 1
        return row.digest, row.file_name, int(row.id) + 1

    # -- when: on a schedule and by size ---------------------------------------------------------

    def backlog_bytes(self) -> int:
        """Bytes the timestamped records after the last archived one hold in the database (the size trigger).

        Counted from the last archive's last record on, so the query reads only the rows
        an archive would take, not the days of archived rows kept; lengths come from the
        rows' headers (SQLite) or TOAST pointers (PostgreSQL), not the values.
        """
        r = m.LogRecord
        with self.log.engine.connect() as conn:
            after = conn.execute(select(func.max(m.LogArchive.last_record))).scalar() or 0
            size = func.length(r.message) + func.length(r.signature) + func.coalesce(func.length(r.body), 0) \
                + func.coalesce(func.length(r.hash_chain), 0) + func.coalesce(func.length(r.hash_chain_result), 0)
            stamped = (select(r.id).join(m.LogRecordTimestamp, m.LogRecordTimestamp.record_id == r.id)
                       .where(r.id > after))
            records = conn.execute(select(func.coalesce(func.sum(size), 0)).where(r.id.in_(stamped))).scalar()
            attached = conn.execute(select(func.coalesce(func.sum(func.length(m.LogAttachment.data)), 0))
                                    .where(m.LogAttachment.record_id.in_(stamped))).scalar()
        return int(records or 0) + int(attached or 0)

    def _last_run(self) -> dt.datetime | None:
        with self.log.engine.connect() as conn:
            text = conn.execute(select(m.LogState.value).where(m.LogState.key == STATE_LAST_RUN)).scalar()
        return dt.datetime.fromisoformat(text) if text else None

    def due(self, at: dt.datetime | None = None) -> str | None:
        """``"schedule"`` when ``interval`` has passed since the last run, ``"size"`` above the threshold, else None."""
        at = at or self.clock()
        last = self._last_run()
        if last is None or at - last >= self.interval:
            return "schedule"
        if self.threshold_bytes and self.backlog_bytes() >= self.threshold_bytes:
            return "size"
        return None

    def run_if_due(self, at: dt.datetime | None = None) -> int:
        """The scheduled check: archive and apply retention when due; returns the records archived."""
        if self._policy is not None:
            self.apply(self._policy())
        at = at or self.clock()
        reason = self.due(at)
        if reason is None:
            return 0
        archived = self.run(at)
        log.info("message log archiving (%s): %d record(s) archived", reason, archived)
        return archived

    # -- writing ------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Finish or clear what an interrupted run left: the names of the ``.part`` files handled."""
        if not self.directory.is_dir():
            return []
        parts = sorted(self.directory.glob(PARTIAL_GLOB))
        if not parts:
            return []
        _, head_name, _ = self._head()
        head_part = self.directory / f".mlog-{archive_sequence(Path(head_name)):06d}.part"  # its name: the seq it got
        with self.log.engine.connect() as conn:
            head_digest = conn.execute(select(m.LogArchive.digest).where(m.LogArchive.file_name == head_name)).scalar()
        final = self.directory / head_name
        for part in parts:
            if part == head_part and head_digest is not None and file_digest(part) == head_digest:
                if final.exists() and file_digest(final) == head_digest:
                    part.unlink()  # named already (the crash came between the link and the unlink)
                    continue
                publish(part, final)  # recorded as archived: kept until it has its name, whatever is in the way
                log.warning("message log archiving: finished %s, interrupted after its database record", head_name)
            else:
                part.unlink()
                log.warning("message log archiving: removed %s, left by an interrupted run", part.name)
        return [p.name for p in parts]

    def _records(self, ids: Sequence[int]) -> Iterator[StoredRecord]:
        """The records of ``ids``, read :data:`READ_BATCH` at a time (memory: one batch, not the archive)."""
        for start in range(0, len(ids), READ_BATCH):
            with self.log.engine.connect() as conn:
                batch = read_records(conn, ids[start:start + READ_BATCH])
            yield from batch

    def _write(self, part: Path, ids: Sequence[int], prev: tuple[str, str], at: dt.datetime) -> tuple[list[tuple[int, dt.datetime]], int]:
        """Stream the records into ``part`` (linkinginfo last); the records written and the bytes before deflate."""
        lines = [f"{prev[0]} {prev[1]} {DIGEST_NAME}"]
        stamp = at.astimezone(dt.timezone.utc).timetuple()[:6]
        written: list[tuple[int, dt.datetime]] = []
        raw = 0
        with part.open("wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for record in self._records(ids):
                    # stored entries, deflated as one stream by the archive: ~10 % smaller
                    name, data = entry_name(record), record_container(record, deflate=False, carry=self.carry)
                    info = zipfile.ZipInfo(name, date_time=stamp)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, data)
                    lines.append(f"{hashlib.sha512(data).hexdigest()} {name}")
                    written.append((record.id, record.logged_at))
                    raw += len(data)
                    if handle.tell() >= self.max_bytes:
                        break
                linking = ("\n".join(lines) + "\n").encode("ascii")
                info = zipfile.ZipInfo(LINKING_INFO, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, linking)
            handle.flush()
            os.fsync(handle.fileno())
        return written, raw + len(linking)

    def archive_once(self, at: dt.datetime | None = None) -> ArchiveInfo | None:
        """Write one archive of up to ``max_records`` records; ``None`` when there is nothing to archive."""
        with exclusive_run(self.log.engine, "archiver"):  # the node's job and the CLI may meet
            return self._archive_once(at or self.clock())

    def _archive_once(self, at: dt.datetime) -> ArchiveInfo | None:
        self.recover()
        ids = self._candidates()
        if not ids:
            return None
        prev_digest, prev_name, seq = self._head()
        self.directory.mkdir(parents=True, exist_ok=True)
        part = self.directory / f".mlog-{seq:06d}.part"
        try:
            records, raw = self._write(part, ids, (prev_digest, prev_name), at)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        digest = file_digest(part)  # read back: what the (network) file system holds is what is recorded
        name = f"mlog-{records[0][1]:%Y%m%d%H%M%S}-{records[-1][1]:%Y%m%d%H%M%S}-{seq:06d}.zip"
        written = [record_id for record_id, _ in records]
        self._record(at, name, digest, prev_digest, written)
        path = self.directory / name
        publish(part, path)
        log.info("message log: archived %d record(s) into %s", len(written), name)
        return ArchiveInfo(path, digest, prev_digest, len(written), path.stat().st_size, raw)

    def _record(self, at: dt.datetime, name: str, digest: str, prev_digest: str, ids: Sequence[int]) -> None:
        with self.log.commit_lock.begin() as conn:
            archive_id = conn.execute(
                insert(m.LogArchive),
                {"created_at": at, "file_name": name, "digest": digest, "prev_digest": prev_digest,
                 "first_record": min(ids), "last_record": max(ids), "record_count": len(ids)},
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(insert(m.LogRecordArchive), [{"record_id": i, "archive_id": archive_id} for i in ids])

    def archive_all(self, at: dt.datetime | None = None) -> list[ArchiveInfo]:
        out = []
        while (info := self.archive_once(at)) is not None:
            out.append(info)
        return out

    # -- retention -------------------------------------------------------------------------------

    def cleanup(self, at: dt.datetime | None = None, *, batch: int = 500) -> int:
        """Delete archived records older than ``keep``, in short transactions; returns how many.

        Only archived records: a record that is not archived (nor, therefore, timestamped)
        stays, however old.
        """
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
        at = at or self.clock()
        archived = sum(a.record_count for a in self.archive_all(at))
        self.cleanup(at)
        with self.log.commit_lock.begin() as conn:
            Timestamper._put_state(conn, {STATE_LAST_RUN: at.isoformat()})
        return archived

    def schedule(self, scheduler: Any, *, interval_seconds: float | None = None, job_id: str = "messagelog-archiving",
                 check_seconds: float = CHECK_SECONDS) -> Any:
        """Check every ``check_seconds`` whether archiving is due (:meth:`due`); ``interval_seconds`` sets the schedule."""
        if interval_seconds is not None:
            self.interval = dt.timedelta(seconds=interval_seconds)

        def job() -> None:
            try:
                self.run_if_due()
            except (GatewayError, OSError) as exc:
                log.error("message log archiving failed: %s", exc)

        seconds = min(check_seconds, self.interval.total_seconds())
        return scheduler.add_job(
            job, "interval", seconds=seconds, id=job_id, max_instances=1, coalesce=True, replace_existing=True
        )
