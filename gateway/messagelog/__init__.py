"""The message log: every exchanged message as legal evidence.

Group-committed writes (a commit lock shared by a node's processes), batched RFC 3161
timestamping over hash trees that never holds the lock the hot path writes under,
background WAL checkpoints, archiving into chained ASiC-E archives (on a schedule and by size), and their offline check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._anchored import AnchoredEvidence, EvidenceChainBroken, anchored_check, verify_with_anchors
    from ._archive import Archiver, ArchivePolicy, verify_archive_chain
    from ._export import NotTimestamped, export_exchange
    from ._archive_check import ArchiveChainBroken, ArchiveError, ArchiveReport, archive_files, archive_sequence
    from ._archive_check import check_archives
    from ._bodies import BodyLogging
    from ._checkpoint import SAFETY_NET_PAGES, WalCheckpointer
    from ._lock import CommitLock
    from ._log import MessageLog
    from ._records import Attachment, LogEntry, MessageLogConfig, RecordNotFound, TimestampingOverdue
    from ._search import RecordSummary, search_records
    from ._timestamper import STATE_TSA_FAILURE, STATE_TSA_SUCCESS, Timestamper, evidence_stamper
    from ._tsachoice import FailoverStamper, TsaNotApproved, choose_tsas, failover_stamper

__all__ = [
    "AnchoredEvidence",
    "ArchiveChainBroken",
    "ArchiveError",
    "ArchivePolicy",
    "ArchiveReport",
    "Archiver",
    "Attachment",
    "BodyLogging",
    "CommitLock",
    "EvidenceChainBroken",
    "FailoverStamper",
    "LogEntry",
    "MessageLog",
    "MessageLogConfig",
    "NotTimestamped",
    "RecordNotFound",
    "RecordSummary",
    "SAFETY_NET_PAGES",
    "STATE_TSA_FAILURE",
    "STATE_TSA_SUCCESS",
    "Timestamper",
    "TimestampingOverdue",
    "TsaNotApproved",
    "WalCheckpointer",
    "anchored_check",
    "archive_files",
    "archive_sequence",
    "check_archives",
    "choose_tsas",
    "evidence_stamper",
    "export_exchange",
    "failover_stamper",
    "search_records",
    "verify_archive_chain",
    "verify_with_anchors",
]

__getattr__, __dir__ = attach(__name__, {
    "AnchoredEvidence": "._anchored",
    "EvidenceChainBroken": "._anchored",
    "FailoverStamper": "._tsachoice",
    "anchored_check": "._anchored",
    "verify_with_anchors": "._anchored",
    "ArchiveChainBroken": "._archive_check",
    "ArchiveError": "._archive_check",
    "ArchivePolicy": "._archive",
    "ArchiveReport": "._archive_check",
    "Archiver": "._archive",
    "Attachment": "._records",
    "BodyLogging": "._bodies",
    "CommitLock": "._lock",
    "LogEntry": "._records",
    "MessageLog": "._log",
    "MessageLogConfig": "._records",
    "NotTimestamped": "._export",
    "RecordNotFound": "._records",
    "RecordSummary": "._search",
    "SAFETY_NET_PAGES": "._checkpoint",
    "STATE_TSA_FAILURE": "._timestamper",
    "STATE_TSA_SUCCESS": "._timestamper",
    "Timestamper": "._timestamper",
    "TimestampingOverdue": "._records",
    "TsaNotApproved": "._tsachoice",
    "WalCheckpointer": "._checkpoint",
    "archive_files": "._archive_check",
    "archive_sequence": "._archive_check",
    "check_archives": "._archive_check",
    "choose_tsas": "._tsachoice",
    "evidence_stamper": "._timestamper",
    "export_exchange": "._export",
    "failover_stamper": "._tsachoice",
    "search_records": "._search",
    "verify_archive_chain": "._archive",
})
