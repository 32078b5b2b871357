"""The HTTP client of a timestamping authority: ask for a token, verify what comes back.

Kept apart from the token format and its verification (:mod:`._timestamp`): the
verifier of evidence needs no HTTP, and the client is what the message log's
timestamper holds for the lifetime of a gateway.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

import httpx
from cryptography import x509

from trust.keys import DigestAlgorithm

from ._timestamp import (
    TIMESTAMP_QUERY, TimestampNonceMismatch, TimestampRejected, TimestampUnavailable, VerifiedTimestamp,
    build_request, imprint_algorithm, parse_reply, verify_timestamp_token,
)


class TimestampClient:
    """Requests timestamps from one TSA URL and verifies every reply.

    The ``httpx.Client`` is a parameter so callers share connection pools and set
    timeouts; a nonce (random 64-bit) is sent with each request and must come back.
    """

    def __init__(
        self,
        url: str,
        tsa_certs: Sequence[x509.Certificate],
        *,
        http: httpx.Client | None = None,
        algorithm: DigestAlgorithm = DigestAlgorithm.SHA512,
        timeout: float = 10.0,
        policy: str | None = None,
    ) -> None:
        imprint_algorithm(algorithm.hashlib_name)
        self.url = url
        self.tsa_certs = tuple(tsa_certs)
        self.algorithm = algorithm
        self.policy = policy
        self._http = http or httpx.Client(timeout=timeout, trust_env=False)

    def stamp(self, data: bytes, *, at: dt.datetime) -> VerifiedTimestamp:
        return self.stamp_digest(self.algorithm.digest(data), at=at)

    def stamp_digest(self, digest: bytes, *, at: dt.datetime, nonce: int | None = None) -> VerifiedTimestamp:
        nonce = secrets.randbits(63) | 1 if nonce is None else nonce
        request = build_request(digest, self.algorithm, nonce=nonce, cert_req=True, policy=self.policy)
        try:
            response = self._http.post(self.url, content=request, headers={"Content-Type": TIMESTAMP_QUERY})
        except httpx.HTTPError as exc:
            raise TimestampUnavailable(f"TSA {self.url} unreachable: {exc}") from exc
        if response.status_code != 200:
            raise TimestampUnavailable(f"TSA {self.url} answered HTTP {response.status_code}")
        token = parse_reply(response.content)
        verified = verify_timestamp_token(
            token, message_imprint_digest=digest, tsa_certs=self.tsa_certs, at=at
        )
        if verified.nonce != nonce:
            raise TimestampNonceMismatch("the TSA did not echo the request nonce")
        if self.policy is not None and verified.policy != self.policy:
            raise TimestampRejected(f"TSA used policy {verified.policy}, asked for {self.policy}")
        return verified

    def close(self) -> None:
        self._http.close()
