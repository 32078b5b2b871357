"""Evidence that outlives the exchange: RFC 3161 timestamps and ASiC-E containers.

The timestamp client and token verification, batch timestamps of logged signatures
over a hash tree, and ASiC-E containers that X-Road's verifier accepts, with the
message inside read by :mod:`trust.protocol`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._asic import AsicContainer, VerifiedContainer, read_container, verify_container, write_container
    from ._asic import CARRIED_CONF, MAX_CONTAINER_BYTES, check_integrity
    from ._signature_timestamp import (
        TimestampedRecord, add_signature_timestamp, signature_value, timestamp_batch, timestamp_single,
        verify_signature_timestamp,
    )
    from ._timestamp import (
        IMPRINT_ALGORITHMS, TIMESTAMP_QUERY, TIMESTAMP_REPLY, TimeStampResp, TimestampError,
        VerifiedTimestamp, verify_timestamp_token,
    )
    from ._tsa_client import TimestampClient

__all__ = [
    "AsicContainer",
    "CARRIED_CONF",
    "IMPRINT_ALGORITHMS",
    "MAX_CONTAINER_BYTES",
    "TIMESTAMP_QUERY",
    "TIMESTAMP_REPLY",
    "TimeStampResp",
    "TimestampClient",
    "TimestampError",
    "TimestampedRecord",
    "VerifiedContainer",
    "VerifiedTimestamp",
    "add_signature_timestamp",
    "check_integrity",
    "read_container",
    "signature_value",
    "timestamp_batch",
    "timestamp_single",
    "verify_container",
    "verify_signature_timestamp",
    "verify_timestamp_token",
    "write_container",
]

__getattr__, __dir__ = attach(__name__, {
    "AsicContainer": "._asic",
    "CARRIED_CONF": "._asic",
    "IMPRINT_ALGORITHMS": "._timestamp",
    "MAX_CONTAINER_BYTES": "._asic",
    "TIMESTAMP_QUERY": "._timestamp",
    "TIMESTAMP_REPLY": "._timestamp",
    "TimeStampResp": "._timestamp",
    "TimestampClient": "._tsa_client",
    "TimestampError": "._timestamp",
    "TimestampedRecord": "._signature_timestamp",
    "VerifiedContainer": "._asic",
    "VerifiedTimestamp": "._timestamp",
    "add_signature_timestamp": "._signature_timestamp",
    "check_integrity": "._asic",
    "read_container": "._asic",
    "signature_value": "._signature_timestamp",
    "timestamp_batch": "._signature_timestamp",
    "timestamp_single": "._signature_timestamp",
    "verify_container": "._asic",
    "verify_signature_timestamp": "._signature_timestamp",
    "verify_timestamp_token": "._timestamp",
    "write_container": "._asic",
})
