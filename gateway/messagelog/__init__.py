"""The message log: every exchanged message as legal evidence.

Group-committed writes (a commit lock shared by a node's processes), batched RFC 3161
timestamping over hash trees that never holds the lock the hot path writes under,
background WAL checkpoints, and archiving into chained ASiC-E archives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._archive import Archiver, NotTimestamped, export_exchange, verify_archive_chain
    from ._bodies import BodyLogging
    from ._checkpoint import SAFETY_NET_PAGES, WalCheckpointer
    from ._lock import CommitLock
    from ._log import MessageLog
    from ._records import Attachment, LogEntry, MessageLogConfig, RecordNotFound, TimestampingOverdue
    from ._search import RecordSummary, search_records
    from ._timestamper import Timestamper, evidence_stamper

__all__ = [
    "Archiver",
    "Attachment",
    "BodyLogging",
    "CommitLock",
    "LogEntry",
    "MessageLog",
    "MessageLogConfig",
    "NotTimestamped",
    "RecordNotFound",
    "RecordSummary",
    "SAFETY_NET_PAGES",
    "Timestamper",
    "TimestampingOverdue",
    "WalCheckpointer",
    "evidence_stamper",
    "export_exchange",
    "search_records",
    "verify_archive_chain",
]

__getattr__, __dir__ = attach(__name__, {
    "Archiver": "._archive",
    "Attachment": "._records",
    "BodyLogging": "._bodies",
    "CommitLock": "._lock",
    "LogEntry": "._records",
    "MessageLog": "._log",
    "MessageLogConfig": "._records",
    "NotTimestamped": "._archive",
    "RecordNotFound": "._records",
    "RecordSummary": "._search",
    "SAFETY_NET_PAGES": "._checkpoint",
    "Timestamper": "._timestamper",
    "TimestampingOverdue": "._records",
    "WalCheckpointer": "._checkpoint",
    "evidence_stamper": "._timestamper",
    "export_exchange": "._archive",
    "search_records": "._search",
    "verify_archive_chain": "._archive",
})
