"""Batch RFC 3161 timestamping of the message log, on a schedule.

Every ``interval`` the job takes the records that have no timestamp yet, builds a
Merkle tree over their signatures' SHA-512 (X-Road's batch timestamp: the TSA
stamps ``/ts-hashchainresult.xml``, each record keeps its ``ts-hashchain.xml`` leading
to its ``/META-INF/signatures.xml``, NOTES 7) and asks the TSA once; a batch of one
is stamped singly (the token goes into the signature). The formats are
:mod:`trust.evidence._signature_timestamp`'s; this module only schedules and stores.

The job is written around the trap X-Road hit in 2017 (DESIGN 5): timestamping must
never hold a lock on the table the hot path appends to. So a run is three steps and
only the last one writes:

1. a short read of unstamped ids and hashes (WAL readers take no lock writers wait for);
2. the TSA call, with no transaction or connection open;
3. short transactions that *insert* the token and the per-record links into their
   own tables (``ml_timestamp``, ``ml_record_ts``), ``link_chunk`` links each, the
   last one also updating ``ml_state``; the record table itself is never updated.

Each link stands on its own: a record's hash chain leads from its signature to the
stamped root. So a run that stops between two chunks loses nothing: the records it
linked are stamped, the others are still without a link, above the floor (which
moves only with the last chunk), and the next run stamps them again.

Success and failure are kept in ``ml_state``: ``ts_last_success``, and
``ts_first_failure`` (the start of the current run of failures, cleared by a success),
which :meth:`gateway.messagelog._log.MessageLog.timestamping_overdue` compares with the
acceptable failure period.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from sqlalchemy import and_, func, insert, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.dialects import postgresql, sqlite

from trust.errors import SildError

from gateway.db import schema as m
from ._log import MessageLog
from ._records import STATE_FIRST_FAILURE, STATE_FLOOR, STATE_LAST_ERROR, STATE_LAST_SUCCESS, MessageLogError

log = logging.getLogger(__name__)

# ids may be committed out of order on PostgreSQL for a moment; there the floor trails by
# this much (SQLite has one writer at a time, so its ids become visible in order)
FLOOR_GRACE = dt.timedelta(minutes=2)
#: ``ml_state`` key prefixes of each TSA's last success and last failure, the TSA's URL following
#: (written from a failover stamper's outcomes, :mod:`gateway.messagelog._tsachoice`)
STATE_TSA_SUCCESS = "ts_tsa_ok:"
STATE_TSA_FAILURE = "ts_tsa_error:"


class TimestampingFailed(MessageLogError):
    code = "gateway.messagelog.timestamping_failed"


@dataclass(frozen=True)
class BatchStamp:
    """What one TSA request produced for a batch of records (in the order given).

    Batch: ``token``, ``hash_chain_result`` and one ``hash_chains[i]`` per record.
    Single (a batch of one, as X-Road stamps it): ``token`` and ``signatures[0]``, the
    signature XML with the token embedded as ``xades:SignatureTimeStamp``.
    """

    token: bytes
    hash_chain_result: bytes | None
    hash_chains: Sequence[bytes | None]
    signatures: Sequence[bytes | None] = ()


class BatchStamper(Protocol):
    def __call__(self, signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp: ...


def evidence_stamper(client: Any) -> BatchStamper:
    """A stamper over a :class:`trust.evidence._tsa_client.TimestampClient` using :mod:`trust.evidence._signature_timestamp`.

    Several records: the TSA stamps ``/ts-hashchainresult.xml`` of a Merkle tree over
    SHA-512 of each signature. One record: the TSA stamps its ``SignatureValue`` and
    the token goes into the signature, as X-Road does.
    """
    from trust.evidence import add_signature_timestamp, signature_value, timestamp_batch

    def stamp(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
        if len(signatures) == 1:
            verified = client.stamp(signature_value(signatures[0]), at=at)
            stamped = add_signature_timestamp(signatures[0], verified.token_der)
            return BatchStamp(verified.token_der, None, [None], [stamped])
        records = timestamp_batch(signatures, client, at=at)
        token = records[0].timestamp_token
        if token is None:  # pragma: no cover - timestamp_batch stamps batches of two or more as a batch
            raise TimestampingFailed("batch timestamp without a token")
        return BatchStamp(token, records[0].ts_hash_chain_result, [r.ts_hash_chain for r in records])

    return stamp


class Timestamper:
    """Stamps unstamped records in batches; one instance per node, one run at a time."""

    def __init__(
        self,
        log_: MessageLog,
        stamper: BatchStamper,
        *,
        batch_size: int = 5000,
        link_chunk: int = 64,
        clock: Callable[[], dt.datetime] | None = None,
        lock: Any = None,
    ) -> None:
        if batch_size < 1 or link_chunk < 1:
            raise ValueError("batch size and link chunk must be positive")
        self.log = log_
        self.stamper = stamper
        self.batch_size = batch_size
        self.link_chunk = link_chunk
        self.clock = clock or log_.clock
        # shared by the node's timestampers (the job's and an operator's "run now"): two runs at
        # once would read the same unstamped records and link them twice
        self.lock = lock if lock is not None else threading.Lock()

    def _candidates(self, at: dt.datetime) -> tuple[list[tuple[int, bytes]], int]:
        """(record id, signature XML) of unstamped records, oldest first, and the floor that
        holds once they are stamped; read in one snapshot, with no lock writers wait for.

        The floor is the highest id below which every record is stamped. It is worked out
        here, from the same snapshot, and not by scanning the table inside the write
        transaction: that scan grows with the log and held SQLite's write lock, stalling
        every proxy's append for as long as it ran (hundreds of ms on a busy gateway).
        """
        engine = self.log.engine
        with engine.connect() as conn:
            floor_text = conn.execute(select(m.LogState.value).where(m.LogState.key == STATE_FLOOR)).scalar()
            floor = int(floor_text or 0)
            # the newest id before the unstamped rows: SQLite reads each statement in its own
            # snapshot, and records committed between the two (other processes append all the
            # time) would otherwise lie under the floor without being among the candidates
            newest = int(conn.execute(select(func.max(m.LogRecord.id))).scalar() or 0)
            grace = FLOOR_GRACE if engine.dialect.name != "sqlite" else dt.timedelta(0)
            settled = newest if not grace else int(conn.execute(
                select(func.max(m.LogRecord.id)).where(m.LogRecord.logged_at < at - grace)).scalar() or 0)
            rows = conn.execute(
                select(m.LogRecord.id, m.LogRecord.signature)
                .outerjoin(m.LogRecordTimestamp, m.LogRecordTimestamp.record_id == m.LogRecord.id)
                .where(and_(m.LogRecord.id > floor, m.LogRecordTimestamp.record_id.is_(None)))
                .order_by(m.LogRecord.id)
                .limit(self.batch_size + 1)
            ).all()
            conn.rollback()  # end the read snapshot at once
        candidates = [(int(i), bytes(h)) for i, h in rows[: self.batch_size]]
        # stamped up to the first record left out of this batch, else up to the newest one seen
        reach = int(rows[self.batch_size][0]) - 1 if len(rows) > self.batch_size else newest
        return candidates, max(floor, min(reach, settled))

    def run_once(self, at: dt.datetime | None = None) -> int:
        """Stamp one batch; returns how many records got a timestamp. Failures are recorded and re-raised."""
        at = at or self.clock()
        candidates, floor = self._candidates(at)
        if not candidates:
            self._record_success(at, None)
            return 0
        try:
            stamp = self.stamper([h for _, h in candidates], at=at)
            if len(stamp.hash_chains) != len(candidates) or len(stamp.signatures) not in (0, len(candidates)):
                raise TimestampingFailed("the stamper returned a different number of hash chains than records")
            signatures = list(stamp.signatures) or [None] * len(candidates)
        except Exception as exc:
            self._record_tsas()
            self._record_failure(at, exc)
            if isinstance(exc, SildError):
                raise
            raise TimestampingFailed(f"timestamping failed: {exc.__class__.__name__}: {exc}") from exc
        self._record_tsas()
        links = [(rid, chain, sig) for (rid, _), chain, sig in zip(candidates, stamp.hash_chains, signatures)]
        chunks = [links[i:i + self.link_chunk] for i in range(0, len(links), self.link_chunk)]
        ts_id: int | None = None
        for n, chunk in enumerate(chunks):
            # one short transaction per chunk: the proxies' commits queue behind each on the
            # log's commit lock, so one transaction of thousands of links (megabytes of hash
            # chains, and the checkpoint they trigger) held them for up to 2 s under load
            with self.log.commit_lock.begin() as conn:
                if ts_id is None:
                    ts_id = conn.execute(
                        insert(m.LogTimestamp),
                        {"stamped_at": at, "token": stamp.token, "hash_chain_result": stamp.hash_chain_result,
                         "record_count": len(candidates)},
                    ).inserted_primary_key[0]  # type: ignore[index]
                conn.execute(insert(m.LogRecordTimestamp), [
                    {"record_id": rid, "timestamp_id": ts_id, "hash_chain": chain, "signature": sig}
                    for rid, chain, sig in chunk
                ])
                if n == len(chunks) - 1:  # the floor moves only once every link is in
                    self._put_state(conn, {STATE_LAST_SUCCESS: at.isoformat(), STATE_FLOOR: str(floor)},
                                    delete=[STATE_FIRST_FAILURE, STATE_LAST_ERROR])
        self.log.invalidate_state()
        log.info("message log: timestamped %d record(s)", len(candidates))
        return len(candidates)

    def run_all(self, at: dt.datetime | None = None) -> int:
        """Stamp until nothing is left (the scheduled job, an operator's run now, tests)."""
        total = 0
        with self.lock:
            while True:
                n = self.run_once(at)
                total += n
                if n < self.batch_size:
                    return total

    def _record_success(self, at: dt.datetime, _unused: object) -> None:
        with self.log.commit_lock.begin() as conn:
            self._put_state(conn, {STATE_LAST_SUCCESS: at.isoformat()}, delete=[STATE_FIRST_FAILURE, STATE_LAST_ERROR])
        self.log.invalidate_state()

    def _record_tsas(self) -> None:
        """Each TSA's outcome in the last attempt (a failover stamper keeps them) into ``ml_state``.

        Why in the log: the diagnostics and ``GET /api/v1/timestamping-services`` read
        it from there in any process, as they read the last success and error.
        """
        outcomes = getattr(self.stamper, "outcomes", None)
        if not outcomes:
            return
        with self.log.commit_lock.begin() as conn:
            for url, (when, error) in outcomes.items():
                key = (STATE_TSA_FAILURE if error else STATE_TSA_SUCCESS) + url
                value = when.isoformat() + (f" {error}" if error else "")
                self._put_state(conn, {key[:100]: value[:1000]})

    def _record_failure(self, at: dt.datetime, exc: BaseException) -> None:
        log.warning("message log: timestamping failed: %s", exc)
        with self.log.commit_lock.begin() as conn:
            first = conn.execute(select(m.LogState.value).where(m.LogState.key == STATE_FIRST_FAILURE)).scalar()
            values = {STATE_LAST_ERROR: f"{at.isoformat()} {exc.__class__.__name__}: {exc}"[:1000]}
            if first is None:
                values[STATE_FIRST_FAILURE] = at.isoformat()
            self._put_state(conn, values)
        self.log.invalidate_state()

    @staticmethod
    def _put_state(conn: Any, values: dict[str, str], delete: Sequence[str] = ()) -> None:
        dialect = conn.engine.dialect.name
        for key, value in values.items():
            stmt: Any
            if dialect == "postgresql":
                stmt = postgresql.insert(m.LogState).values(key=key, value=value)
                stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
            else:
                stmt = sqlite.insert(m.LogState).values(key=key, value=value)
                stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
            conn.execute(stmt)
        if delete:
            conn.execute(sa_delete(m.LogState).where(m.LogState.key.in_(list(delete))))

    def schedule(
        self,
        scheduler: Any,
        *,
        interval_seconds: float = 60.0,
        job_id: str = "messagelog-timestamping",
        run_now: bool = True,
    ) -> Any:
        """Add the job to an APScheduler 3 scheduler (one run at a time, missed runs coalesced).

        ``run_now``: the first run starts at once, so records left unstamped while the
        gateway was down do not keep it refusing messages until the first interval ends.
        """

        def job() -> None:
            try:
                self.run_all()
            except SildError as exc:  # recorded in ml_state; the next run retries
                log.warning("message log timestamping: %s [%s]", exc, exc.code)

        extra: dict[str, Any] = {"next_run_time": self.clock()} if run_now else {}
        return scheduler.add_job(
            job, "interval", seconds=interval_seconds, id=job_id, max_instances=1, coalesce=True, replace_existing=True,
            **extra,
        )
