"""The tracker's record: one row per served exchange on a declared service.

:class:`Tracker` is what the server proxy calls after an exchange is on record
(:meth:`Tracker.observe`) and what the admin API and CLI read (:meth:`Tracker.entries`).
Two promises shape it:

* recording never slows or breaks the exchange: the proxy's share is a dictionary
  lookup and, on a declared service, an append to a queue (as operational monitoring
  does, :mod:`gateway.monitoring._feed`); a writer thread extracts the subject, hashes
  it and inserts the batch every ``flush_seconds``. A request whose subject cannot be
  found, a failing insert or a full queue is logged and counted
  (:attr:`Tracker.failures`), and the client has its answer all the same;
* the subject identifier is kept as HMAC-SHA-256 under a key of this gateway
  (``DIR/tracker.key``, 32 random bytes made at first use, mode 0600). A plain hash of
  a personal code is reversible by trying every code; a keyed one is not without the
  key. The key lives in the gateway directory, so a backup (``trust.backup`` takes every
  file of the directory) carries it and a restored gateway still finds old entries.
  A rule may ask to keep the identifier plain instead (``store_plain``).

Rules are read from the server configuration again only when its change counter moved
(:meth:`gateway.serverconf.ServerConf.snapshot`), so a declaration made by the CLI or the
admin API reaches running proxies within the snapshot's refresh interval.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import insert, or_, select

from trust.infra import utc_now
from trust.protocol import ClientId

from gateway.db import schema as m
from gateway.serverconf import ServerConf

from ._extract import ExtractionFailed, SeenRequest, extract_subject
from ._rules import SubjectRule, load_rules

KEY_FILE = "tracker.key"
MAX_ENTRIES = 10_000  # one answer's worth; a portal pages by time if a subject ever has more

_log = logging.getLogger("sild.gateway.tracker")


@dataclass(frozen=True)
class TrackedEntry:
    """One exchange that touched the subject's data, with its evidence."""

    seen_at: dt.datetime
    client: str
    service: str
    user_id: str | None
    issue: str | None
    purpose: str | None
    query_id: str
    log_record_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {"time": self.seen_at.isoformat(), "client": self.client, "service": self.service,
                "user_id": self.user_id, "issue": self.issue, "purpose": self.purpose,
                "query_id": self.query_id, "log_record_id": self.log_record_id}


class Tracker:
    """Records and reads the tracker's entries of one gateway (its server configuration, its key)."""

    def __init__(self, conf: ServerConf, directory: Path, *, clock: Callable[[], dt.datetime] = utc_now,
                 flush_seconds: float = 0.5, max_queue: int = 10_000) -> None:
        self.conf = conf
        self.directory = directory
        self.clock = clock
        self.recorded = 0
        self.failures = 0  # subjects not found or entries not stored: logged, never the client's problem
        self._lock = threading.Lock()
        self._rules: dict[tuple[ClientId, str], SubjectRule] = {}
        self._rules_counter: int | None = None
        self._key: bytes | None = None
        self.flush_seconds = flush_seconds
        self.max_queue = max_queue
        self._queue: collections.deque[tuple[SubjectRule, SeenRequest, int | None, dt.datetime, str | None]] = \
            collections.deque()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the subject's key ---------------------------------------------------------------
    def key(self) -> bytes:
        """This gateway's HMAC key, made at first use; two processes racing agree on one file."""
        if self._key is None:
            path = self.directory / KEY_FILE
            if not path.is_file():
                temp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(secrets.token_bytes(32))
                    out.flush()
                    os.fsync(out.fileno())
                try:
                    os.link(temp, path)  # fails if another process made it first: theirs wins
                except FileExistsError:
                    pass
                finally:
                    temp.unlink()
            key = path.read_bytes()
            if len(key) < 32:
                raise ValueError(f"{path} is not a tracker key (32 bytes expected)")
            self._key = key
        return self._key

    def hashed(self, subject: str) -> str:
        return hmac.new(self.key(), subject.encode("utf-8"), hashlib.sha256).hexdigest()

    # -- recording -----------------------------------------------------------------------
    def rules(self) -> dict[tuple[ClientId, str], SubjectRule]:
        counter = self.conf.snapshot().counter
        if counter != self._rules_counter:
            with self._lock:
                self._rules = {(r.provider, r.service_code): r for r in load_rules(self.conf)}
                self._rules_counter = counter
        return self._rules

    def observe(self, seen: Callable[[], SeenRequest | None], log_record_id: int | None, *,
                purpose: str | None = None) -> None:
        """Queue one served exchange if its service is declared; never raises, never waits.

        ``purpose`` is what the client declared for the request (issue 20, part 2: the
        proxy reads it once, for the access decision and the message log alike).

        ``seen`` is called only here, inside the guard, so that even reading the request
        for the tracker cannot fail an exchange that has already been answered and logged.
        Extraction, hashing and the insert happen in the writer thread (:meth:`flush`).
        """
        try:
            request = seen()
            if request is None:
                return  # a metaservice answered: no data of a subject
            rule = self.rules().get((request.service.provider, request.service.service_code))
            if rule is None:
                return
            if len(self._queue) >= self.max_queue:
                self.failures += 1  # the writer cannot keep up: drop rather than slow traffic
                return
            self._queue.append((rule, request, log_record_id, self.clock(), purpose))
            self._start_writer()
        except Exception:  # noqa: BLE001 - the exchange is answered and logged already; it must stay so
            self.failures += 1
            _log.exception("tracker: could not record an exchange")

    def _start_writer(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(target=self._run, name="tracker-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def flush(self) -> int:
        """Write what is queued, in one transaction; returns the entries written.

        One flush at a time: a caller that flushes (a test, :meth:`close`) returns only
        once what was queued before it is in the database.
        """
        with self._flush_lock:
            rows = []
            while self._queue:
                rule, request, log_record_id, at, purpose = self._queue.popleft()
                try:
                    rows.append(self._row(rule, request, log_record_id, at, purpose))
                except ExtractionFailed as exc:
                    self.failures += 1
                    _log.warning("tracker: no subject recorded for exchange %s: %s", request.query_id, exc)
                except Exception:  # noqa: BLE001 - one bad request must not lose the others
                    self.failures += 1
                    _log.exception("tracker: could not read exchange %s", request.query_id)
            if not rows:
                return 0
            try:
                with self.conf.engine.begin() as conn:
                    conn.execute(insert(m.TrackerEntry), rows)
            except Exception:  # noqa: BLE001 - a database problem must not stop traffic
                self.failures += len(rows)
                _log.exception("tracker: could not store %d entries", len(rows))
                return 0
            self.recorded += len(rows)
            return len(rows)

    def _row(self, rule: SubjectRule, request: SeenRequest, log_record_id: int | None, at: dt.datetime,
             purpose: str | None) -> dict[str, Any]:
        subject = extract_subject(rule, request)
        return {"seen_at": at, "subject": subject if rule.store_plain else self.hashed(subject),
                "hashed": not rule.store_plain, "client_id": request.client.to_text(),
                "service_id": request.service.to_text(), "user_id": _short(request.user_id),
                "issue": request.issue, "purpose": _short(purpose), "query_id": request.query_id[:255],
                "log_record_id": log_record_id}

    def close(self) -> None:
        """Stop the writer and write what is still queued (the node calls this when it stops)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    # -- reading -------------------------------------------------------------------------
    def entries(self, subject: str, *, limit: int = MAX_ENTRIES) -> list[TrackedEntry]:
        """Every recorded exchange on ``subject``'s data, oldest first (kept hashed or plain)."""
        t = m.TrackerEntry
        query = (select(t).where(or_((t.hashed.is_(True)) & (t.subject == self.hashed(subject)),
                                     (t.hashed.is_(False)) & (t.subject == subject)))
                 .order_by(t.seen_at, t.id).limit(limit))
        with self.conf.read() as s:
            return [TrackedEntry(r.seen_at, r.client_id, r.service_id, r.user_id, r.issue, r.purpose, r.query_id,
                                 r.log_record_id) for r in s.execute(query).scalars()]


def _short(text: str | None) -> str | None:
    """A column of 255 characters (PostgreSQL refuses longer; one long value must not lose a batch)."""
    return text[:255] if text else None
