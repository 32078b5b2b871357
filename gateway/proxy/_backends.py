"""Pooled HTTP connections from the server proxy to the providers' backends.

A backend call is the one step of an exchange that leaves the gateway for an
information system; its connections are kept alive across exchanges, and each
service's TLS setting (verify or not, its own CA bundle) gets its own pool so that
one service's trust never serves another service's address.
"""

from __future__ import annotations

import functools
import threading

from gateway.net import MAX_RESPONSE, HttpPool, backend_ssl_context


class BackendClients:
    """Pooled HTTP connections to backends, one pool per TLS setting (verify, CA bundle).

    Each pool keeps its connections per (scheme, host, port), so a service's own CA
    bundle never serves another service's address with a different trust.
    """

    def __init__(self, *, max_connections: int = 64, keepalive_expiry: float = 60.0,
                 max_response: int = MAX_RESPONSE) -> None:
        self._pools: dict[tuple[bool, str | None], HttpPool] = {}
        self._lock = threading.Lock()
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._max_response = max_response

    def get(self, tls_verify: bool, ca_pem: str | None) -> HttpPool:
        key = (tls_verify, ca_pem or None)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                # the TLS context is built once per setting (at its first https request), never per
                # request (DESIGN.md section 5)
                pool = HttpPool(ssl_context=functools.partial(backend_ssl_context, tls_verify, ca_pem),
                                max_connections=self._max, keepalive_expiry=self._expiry,
                                max_response=self._max_response)
                self._pools[key] = pool
            return pool

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
