"""Fetching OCSP responses over HTTP, verified, with a small freshness-aware cache.

A gateway needs a fresh response for its own auth and sign certificates on every
message it sends (they travel inside the message, NOTES 7), so responses are cached
per (certificate, issuer) and reused while :meth:`VerifiedOcspStatus.is_fresh` holds
at the moment asked for. RFC 6960 allows POST and GET (``/<base64 request>``);
both are supported. The ``httpx.Client`` is a parameter (pools, timeouts).
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import urllib.parse
from collections import OrderedDict
from typing import TypedDict, Unpack

import httpx
from cryptography import x509

from ._certs import fingerprint_hex, require_aware
from ._ocsp import (
    OCSP_REQUEST, OCSP_RESPONSE, OcspUnavailable, VerifiedOcspStatus, build_ocsp_request, new_nonce,
    verify_ocsp_response,
)

MAX_RESPONSE_BYTES = 256 * 1024


class OcspCache:
    """LRU of verified statuses keyed by (cert SHA-256, issuer SHA-256); thread-safe."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], VerifiedOcspStatus] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cert: x509.Certificate, issuer: x509.Certificate, at: dt.datetime,
            freshness_seconds: int) -> VerifiedOcspStatus | None:
        key = (fingerprint_hex(cert), fingerprint_hex(issuer))
        with self._lock:
            status = self._entries.get(key)
            if status is None:
                return None
            if not status.is_fresh(at, freshness_seconds):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return status

    def put(self, cert: x509.Certificate, issuer: x509.Certificate, status: VerifiedOcspStatus) -> None:
        key = (fingerprint_hex(cert), fingerprint_hex(issuer))
        with self._lock:
            self._entries[key] = status
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class _FetchOptions(TypedDict, total=False):
    """How :meth:`OcspClient.fetch` asks (the defaults are its own)."""

    responder_certs: tuple[x509.Certificate, ...]  # extra authorised signers; default none
    use_nonce: bool  # default True
    method: str  # "POST" (default) or "GET"


class OcspClient:
    """Fetches and verifies OCSP responses; ``responder_certs`` are extra authorised signers."""

    def __init__(self, *, http: httpx.Client | None = None, cache: OcspCache | None = None,
                 timeout: float = 10.0) -> None:
        self._http = http or httpx.Client(timeout=timeout, trust_env=False)
        self.cache = cache if cache is not None else OcspCache()

    def status(self, cert: x509.Certificate, issuer: x509.Certificate, url: str, *, at: dt.datetime,
               freshness_seconds: int, **options: Unpack[_FetchOptions]) -> VerifiedOcspStatus:
        """:meth:`fetch`, answered from the cache while the cached status is fresh at ``at``."""
        at = require_aware(at)
        cached = self.cache.get(cert, issuer, at, freshness_seconds)
        if cached is not None:
            return cached
        status = self.fetch(cert, issuer, url, at=at, freshness_seconds=freshness_seconds, **options)
        self.cache.put(cert, issuer, status)
        return status

    def fetch(
        self,
        cert: x509.Certificate,
        issuer: x509.Certificate,
        url: str,
        *,
        at: dt.datetime,
        freshness_seconds: int,
        responder_certs: tuple[x509.Certificate, ...] = (),
        use_nonce: bool = True,
        method: str = "POST",
    ) -> VerifiedOcspStatus:
        """One request, no cache."""
        nonce = new_nonce() if use_nonce else None
        request = build_ocsp_request(cert, issuer, nonce=nonce)
        try:
            if method.upper() == "GET":
                encoded = urllib.parse.quote(base64.b64encode(request).decode("ascii"), safe="")
                response = self._http.get(url.rstrip("/") + "/" + encoded)
            else:
                response = self._http.post(url, content=request, headers={"Content-Type": OCSP_REQUEST})
        except httpx.HTTPError as exc:
            raise OcspUnavailable(f"OCSP responder {url} unreachable: {exc}") from exc
        if response.status_code != 200:
            raise OcspUnavailable(f"OCSP responder {url} answered HTTP {response.status_code}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != OCSP_RESPONSE:
            raise OcspUnavailable(f"OCSP responder {url} answered {content_type or 'no content type'}")
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise OcspUnavailable(f"OCSP response from {url} is too large")
        return verify_ocsp_response(response.content, cert, issuer, at=at, freshness_seconds=freshness_seconds,
                                    responder_certs=responder_certs, nonce=nonce)

    def close(self) -> None:
        self._http.close()
