"""The health port a load balancer polls: ``GET /health`` says whether to send this node traffic.

X-Road's security server answers its balancer on a port of its own (5588), and so does
sild (``health_port`` of ``gateway.json``, on ``peer_host``), for three reasons:

* the IS and mutual-TLS ports are what the balancer forwards, in TCP mode with TLS
  passed through; a check on the mutual-TLS port would need a client certificate the
  balancer does not have, and a path on the IS port would be answered by whichever
  worker process takes the connection, not by the main process that runs the jobs
  and knows the node's state;
* HAProxy checks another port of the same server with ``check port N``, plain HTTP
  (``option httpchk``), so this port needs no TLS and no key;
* the check keeps answering when the traffic ports are saturated or closed (a
  draining node's ports close while its health port still says why).

The verdict is the diagnostics' one (:func:`gateway.node._health.health`, the same as
``sild gateway status`` and ``/api/v1/diagnostics``), computed from the report's
traffic parts plus a query to each database and the drain marker: 200 ``ok`` (or
``degraded: ...``, traffic still passes), else 503 and the worst problem on one line,
``CODE: message``. It is computed at most once per ``ttl`` seconds (a balancer of two
frontends asks twice per interval) and one computation runs at a time; a check that
hangs on a database is cut off by the balancer's ``timeout check``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable, Mapping

log = logging.getLogger("sild.gateway.health")

HEALTH_PATH = "/health"
TTL_SECONDS = 1.0


class HealthApp:
    """WSGI app of the health port; ``verdict()`` returns the diagnostics' ``health`` part."""

    def __init__(self, verdict: Callable[[], Mapping[str, Any]], *, ttl: float = TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._verdict = verdict
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, int, bytes] | None = None

    def answer(self) -> tuple[int, bytes]:
        """The HTTP status and the one-line body, from a verdict at most ``ttl`` seconds old."""
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self._ttl:
                self._cached = (now, *self._compute())
            return self._cached[1], self._cached[2]

    def _compute(self) -> tuple[int, bytes]:
        try:
            verdict = self._verdict()
        except Exception as exc:  # noqa: BLE001 - a node that cannot say it is well is not
            log.warning("the health verdict failed: %s", exc)
            return 503, f"internal_error: the health verdict failed: {exc}".splitlines()[0].encode() + b"\n"
        problems = list(verdict.get("problems") or ())
        if verdict.get("status") == "failing":
            worst = problems[0] if problems else {"code": verdict.get("code"), "message": "failing"}
            return 503, f"{worst['code']}: {worst['message']}\n".encode()
        if problems:
            return 200, f"degraded: {problems[0]['code']}: {problems[0]['message']}\n".encode()
        return 200, b"ok\n"

    def __call__(self, environ: Mapping[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in (HEALTH_PATH, "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "20")])
            return [b"only GET /health is\n"]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain"), ("Allow", "GET, HEAD"),
                                                     ("Content-Length", "0")])
            return [b""]
        status, body = self.answer()
        reason = "OK" if status == 200 else "Service Unavailable"
        start_response(f"{status} {reason}", [("Content-Type", "text/plain; charset=utf-8"),
                                              ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
        return [body]
