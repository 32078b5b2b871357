"""The one MIME reader: Content-Type values, multipart bodies, spooled part bodies.

Every multipart body sild receives (SOAP with attachments from an IS, the proxy
message between gateways, the signed configuration directory, a peer's OCSP answers)
is cut by this reader, in one pass over the bytes as they arrive, with sizes bounded
and large parts spooled to disk; the bytes of each part are kept exactly as received,
so that hashes and signatures cover what the peer sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._content_type import ContentType, MimeError, parse_content_type
    from ._reader import (
        MultipartReader, PartHeaders, WholeMultipart, chunked, iter_parts, raw_headers, split_multipart,
    )
    from ._spool import CHUNK, SPOOL_THRESHOLD, PartBody, spool

__all__ = [
    "CHUNK",
    "ContentType",
    "MimeError",
    "MultipartReader",
    "PartBody",
    "PartHeaders",
    "SPOOL_THRESHOLD",
    "WholeMultipart",
    "chunked",
    "iter_parts",
    "parse_content_type",
    "raw_headers",
    "split_multipart",
    "spool",
]

__getattr__, __dir__ = attach(__name__, {
    "CHUNK": "._spool",
    "ContentType": "._content_type",
    "MimeError": "._content_type",
    "MultipartReader": "._reader",
    "PartBody": "._spool",
    "PartHeaders": "._reader",
    "SPOOL_THRESHOLD": "._spool",
    "WholeMultipart": "._reader",
    "chunked": "._reader",
    "iter_parts": "._reader",
    "parse_content_type": "._content_type",
    "raw_headers": "._reader",
    "split_multipart": "._reader",
    "spool": "._spool",
})
