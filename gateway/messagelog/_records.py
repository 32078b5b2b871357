"""What the message log keeps: the entries a proxy hands in, the records read back, and its settings.

These shapes are shared by the log itself (:mod:`._log`), the timestamper and the
archiver; they hold no database code, so a reader of the log's contract finds the
fields, their checks and the error codes in one place. The ``ml_state`` keys name
the timestamping state the timestamper writes and the log's guard reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Sequence

from trust.protocol import ClientId, ServiceId

from gateway.errors import GatewayError

SIDES = ("client", "server")
DIRECTIONS = ("request", "response")
KINDS = ("SOAP", "REST")
DEFAULT_ACCEPTABLE_FAILURE = dt.timedelta(hours=4)

# ml_state keys
STATE_LAST_SUCCESS = "ts_last_success"
STATE_FIRST_FAILURE = "ts_first_failure"
STATE_LAST_ERROR = "ts_last_error"
STATE_FLOOR = "ts_floor"


class MessageLogError(GatewayError):
    code = "gateway.messagelog.error"


class InvalidLogEntry(MessageLogError):
    code = "gateway.messagelog.invalid_entry"


class TimestampingOverdue(MessageLogError):
    """Timestamping failed for longer than allowed; the gateway must refuse messages."""

    code = "gateway.messagelog.timestamping_overdue"


class RecordNotFound(MessageLogError):
    code = "gateway.messagelog.not_found"


@dataclass(frozen=True)
class Attachment:
    content_type: str
    data: bytes


@dataclass(frozen=True)
class LogEntry:
    """One message as the proxy saw it; ``message`` and ``signature`` are the exact bytes."""

    query_id: str
    client: ClientId
    service: ServiceId
    side: str
    direction: str
    kind: str
    message: bytes
    signature: bytes
    body: bytes | None = None
    x_request_id: str | None = None
    hash_chain_result: bytes | None = None
    hash_chain: bytes | None = None
    attachments: Sequence[Attachment] = ()
    logged_at: dt.datetime | None = None
    purpose: str | None = None  # what the client declared (issue 20); also inside ``message``

    def __post_init__(self) -> None:
        if not isinstance(self.query_id, str) or not self.query_id or len(self.query_id) > 255:
            raise InvalidLogEntry("query id must be 1-255 characters")
        if self.side not in SIDES:
            raise InvalidLogEntry(f"side must be one of {SIDES}, not {self.side!r}")
        if self.direction not in DIRECTIONS:
            raise InvalidLogEntry(f"direction must be one of {DIRECTIONS}, not {self.direction!r}")
        if self.kind not in KINDS:
            raise InvalidLogEntry(f"kind must be one of {KINDS}, not {self.kind!r}")
        if not isinstance(self.message, bytes) or not isinstance(self.signature, bytes) or not self.signature:
            raise InvalidLogEntry("message and signature must be bytes (the signature non-empty)")
        if (self.hash_chain is None) != (self.hash_chain_result is None):
            raise InvalidLogEntry("hash chain and hash chain result come together")
        if self.logged_at is not None and self.logged_at.tzinfo is None:
            raise InvalidLogEntry("naive datetime refused for logged_at")
        if self.purpose is not None and not 0 < len(self.purpose) <= 64:
            raise InvalidLogEntry("a declared purpose is 1-64 characters")


@dataclass(frozen=True)
class StoredRecord:
    """A record read back, with its timestamp when it has one."""

    id: int
    logged_at: dt.datetime
    query_id: str
    x_request_id: str | None
    client: str
    service: str
    side: str
    direction: str
    kind: str
    message: bytes
    body: bytes | None
    signature: bytes
    signature_hash: bytes
    hash_chain_result: bytes | None
    hash_chain: bytes | None
    attachments: tuple[Attachment, ...] = ()
    timestamp_token: bytes | None = None
    ts_hash_chain_result: bytes | None = None
    ts_hash_chain: bytes | None = None
    stamped_signature: bytes | None = None  # single stamps: the signature with its SignatureTimeStamp
    archived: bool = False
    body_logged: bool = True  # False: only the X-Road headers were kept; the container will not verify
    purpose: str | None = None  # the purpose the client declared, if any (issue 20)

    @property
    def evidence_signature(self) -> bytes:
        """The signature XML as it goes into the ASiC container (with a single timestamp when it has one)."""
        return self.stamped_signature or self.signature

    @property
    def batch_timestamp(self) -> bool:
        return self.ts_hash_chain_result is not None


@dataclass(frozen=True)
class MessageLogConfig:
    """``acceptable_failure``: how long timestamping may fail before messages are refused.

    ``group_commit`` lets concurrent :meth:`MessageLog.append` calls share one
    transaction (each still returns only after its record committed); on SQLite and
    PostgreSQL only, other databases append one transaction each through SQLAlchemy.
    ``max_batch`` caps the records of one shared transaction.

    ``body_logging=False`` keeps only the X-Road headers of a message: no REST body,
    no attachments, a SOAP body emptied (as X-Road's ``message-body-logging=false``;
    the resulting ASiC container then does not verify). ``body_policy``, when given,
    decides per message instead (:class:`gateway.messagelog._bodies.BodyLogging`: the
    per-subsystem overrides).
    """

    acceptable_failure: dt.timedelta = DEFAULT_ACCEPTABLE_FAILURE
    body_logging: bool = True
    body_policy: Callable[[LogEntry], bool] | None = None
    state_refresh_seconds: float = 5.0
    # concurrent appends share one transaction (one fsync); see gateway.messagelog._writer
    group_commit: bool = True
    max_batch: int = 256

    def __post_init__(self) -> None:
        if self.acceptable_failure <= dt.timedelta(0):
            raise ValueError("acceptable timestamping failure period must be positive")
