"""One governing authority node: HTTP server + generator schedule in one process.

``sild central serve DIR`` runs this. The event-driven edge server
(:class:`trust.infra.EdgeServer`: every gateway of the instance downloads from this
port, so a silent or slow client must cost a socket, not a thread) answers
distribution and management requests; an APScheduler background job checks every
``check_interval`` seconds whether the configuration must be regenerated (registry
change counter moved, or half the validity used up; see :mod:`federation.central._generator`),
so changes made by CLI commands in other processes, or by another node sharing the
database, are published without any signal. A change made through this node's own
management API additionally triggers an immediate run.

Several nodes on one PostgreSQL registry (``sild central node-init``): on each tick a
node tries to hold the generation lease (:class:`trust.infra.Lease`, a session-level
advisory lock: the holder keeps it while it lives, and its death frees it); the holder
generates and signs, and every node copies the newest generation stored in the
registry into its own ``public/`` (:func:`federation.central.sync_published`), so all
of them serve the same bytes. When the holder dies another node takes the lease at its
next tick and continues from the stored state.

TLS is optional (``tls_cert``/``tls_key``): distribution is signed static content
and X-Road serves it over plain HTTP as well, but the management API should sit
behind TLS (here or in a reverse proxy) in production. ``api_port`` gives the
management API a port of its own, always HTTPS (a self-signed certificate made in
``DIR/api-tls/`` on first use, as a gateway's admin port has, or ``api_tls_cert``/
``api_tls_key``); the main port then answers only what gateways call without a key.
The admin web UI (:mod:`federation.central.ui`, ``/ui/``) is served with the
management API: on the HTTPS port of its own when there is one (its session cookie
is ``Secure``: use ``--api-port`` or ``--tls-cert``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from federation.central.api import CentralAppConfig, create_app
from federation.central.ui import install_ui
from ._generator import GENERATION_LEASE, generate, sync_published
from trust.infra import EdgeServer, Lease, WsgiServer, utc_now
from trust.pki import ensure_self_signed_tls
from federation.central.registry import CentralDir
from federation.errors import FederationError

LOG = logging.getLogger("sild.central")
DEFAULT_CHECK_INTERVAL = 5.0


@dataclass(frozen=True)
class NodeConfig:
    directory: Path
    host: str = "127.0.0.1"
    port: int = 8080
    pin: str = ""
    check_interval: float = DEFAULT_CHECK_INTERVAL
    tls_cert: Path | None = None
    tls_key: Path | None = None
    threads: int = 10
    api_host: str = "127.0.0.1"
    api_port: int | None = None  # the management API on its own HTTPS port (None: on the main port)
    api_tls_cert: Path | None = None
    api_tls_key: Path | None = None

    def __post_init__(self) -> None:
        if not self.pin:
            raise ValueError("the token PIN is required")
        if self.check_interval <= 0:
            raise ValueError("check_interval must be positive")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither")
        if (self.api_tls_cert is None) != (self.api_tls_key is None):
            raise ValueError("give both api_tls_cert and api_tls_key, or neither")
        if self.api_tls_cert is not None and self.api_port is None:
            raise ValueError("api_tls_cert needs api_port (the management API's own port)")


def api_tls_files(directory: Path) -> tuple[Path, Path]:
    """Where a generated management-port certificate and its key live (``DIR/api-tls/``)."""
    return Path(directory) / "api-tls" / "api.crt", Path(directory) / "api-tls" / "api.key"


def api_names(home: CentralDir, api_host: str) -> list[str]:
    """The names clients use for the management port: loopback, the listen address, this machine, the URL's host."""
    import socket
    from urllib.parse import urlsplit

    return ["localhost", "127.0.0.1", "::1", api_host, socket.gethostname(),
            urlsplit(home.config.base_url).hostname or ""]


class CentralNode:
    """Owns the server thread pool and the scheduler; :meth:`stop` ends both."""

    def __init__(self, config: NodeConfig, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.config = config
        self._clock = clock
        self._home = CentralDir(config.directory, clock=clock)
        self._token = self._home.token(config.pin)
        self._lock = threading.Lock()
        self._lease = Lease(self._home.registry().engine, GENERATION_LEASE,
                            holder=f"{self._home.config.address} pid {os.getpid()}")
        self._scheduler = BackgroundScheduler(timezone=dt.timezone.utc)
        self._scheduler.add_job(
            self.generate_now, "interval", seconds=config.check_interval, id="generate",
            max_instances=1, coalesce=True, next_run_time=clock(),
        )
        app = create_app(CentralAppConfig(directory=config.directory, clock=clock, on_change=self.trigger,
                                          management=config.api_port is None))
        if config.api_port is None:
            install_ui(app)  # the admin UI goes where the management API is
        self._api = None if config.api_port is None else self._api_server(config, clock)
        tls = None
        if config.tls_cert is not None and config.tls_key is not None:
            import ssl

            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.minimum_version = ssl.TLSVersion.TLSv1_2
            tls.load_cert_chain(str(config.tls_cert), str(config.tls_key))
        self._server = EdgeServer(app, config.host, config.port, ssl_context=tls, threads=config.threads,
                                  name="sild-central")
        self._stopped = threading.Event()

    def _api_server(self, config: NodeConfig, clock: Callable[[], dt.datetime]) -> WsgiServer:
        """The management API's own port: HTTPS with the operator's certificate or one made here."""
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        cert, key = config.api_tls_cert, config.api_tls_key
        if cert is None or key is None:
            cert, key = api_tls_files(config.directory)
            ensure_self_signed_tls(cert, key, names=api_names(self._home, config.api_host),
                                   common_name=f"{self._home.config.instance} authority management API",
                                   organisation="sild authority management TLS", now=clock())
        app = create_app(CentralAppConfig(directory=config.directory, clock=clock, on_change=self.trigger))
        install_ui(app)
        return WsgiServer(app, config.api_host, config.api_port or 0, threads=config.threads,
                          ssl_adapter=BuiltinSSLAdapter(str(cert), str(key)), server_name="sild-central-api",
                          thread_name="sild-central-api")

    @property
    def api_url(self) -> str | None:
        """``https://HOST:PORT`` of the management API's own port (None when it shares the main port)."""
        if self._api is None:
            return None
        host = "127.0.0.1" if self.config.api_host in ("", "0.0.0.0", "::") else self.config.api_host
        return f"https://{f'[{host}]' if ':' in host else host}:{self._api.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.config.tls_cert else "http"

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def generating(self) -> bool:
        """Whether this node held the generation lease at its last tick (always, on SQLite)."""
        return self._lease.held

    def generate_now(self) -> None:
        """One generator run (by the lease holder) and the copy of the newest generation; failures are logged
        and retried on the next tick."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._lease.acquire():
                result = generate(self._home, self._token, now=self._clock())
                if result.regenerated:
                    LOG.info("published configuration serial %s, expires %s", result.serial,
                             result.expires_at.isoformat())
            elif sync_published(self._home):
                LOG.info("serving the configuration generated by %s", self._lease.holder() or "another node")
        except FederationError as exc:  # the registry unreachable (a fail-over under way), no active key: one line
            LOG.warning("configuration not generated (%s); the previous configuration stays published", exc)
        except Exception:  # noqa: BLE001 - the schedule must survive a bad run; the old configuration stays published
            LOG.exception("configuration generation failed; the previous configuration stays published")
        finally:
            self._lock.release()

    def trigger(self) -> None:
        """Run the generator soon (called after a change through the management API)."""
        if self._scheduler.running:
            self._scheduler.add_job(self.generate_now, id="generate-now", replace_existing=True)

    def start(self) -> None:
        # fail at start, not at every tick, when the PIN is wrong or a key file is missing
        for key_id, _kind, status, _cert in self._home.registry().signing_keys():
            if status == "active":
                self._token.public_key(key_id)
        self.generate_now()  # publish before answering the first request
        self._server.bind()  # the port is known (and taken) from here on
        if self._api is not None:
            self._api.start()
        self._scheduler.start()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        try:
            self._scheduler.shutdown(wait=False)
        except Exception:  # noqa: BLE001 - already stopped
            pass
        if self._api is not None:
            self._api.stop()
        self._server.stop()
        self._lease.close()
        closing = getattr(self._token, "close", None)  # a PKCS#11 token's session
        if closing is not None:
            closing()
        self._home.close()


def run(config: NodeConfig, *, announce: Callable[[str], None] = print) -> None:
    """Serve until SIGTERM/SIGINT; announces ``listening on URL`` once ready."""
    node = CentralNode(config)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=node.stop, daemon=True).start()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        node.start()
        announce(f"listening on {node.scheme}://{config.host}:{node.port}")
        if node.api_url is not None:
            announce(f"management API on {node.api_url}")
        node.serve_forever()
    finally:
        node.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

