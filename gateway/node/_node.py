"""One gateway node: wiring the parts and serving them (``sild gateway serve DIR``).

A node serves four things from one process:

* the IS port (client proxy, plain HTTP by default);
* the mutual-TLS port (server proxy, cheroot so the app sees the peer certificate;
  peers also fetch this node's OCSP responses here);
* optionally X-Road's plain OCSP-responses port (5577) and the admin API;

and runs its jobs on one APScheduler: global configuration download (own instance and
allowed federated instances), OCSP refresh of its own certificates, batch
timestamping of the message log.

Everything is built from the gateway directory (:mod:`gateway.settings`), except the
configuration source, which tests and the sandbox may inject.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from trust.pki import TrustPolicy
from trust.keys import SoftToken

from gateway.serverconf import AccessChecker
from gateway.proxy import ClientProxy
from trust.infra import utc_now
from gateway.proxy import GatewayParts
from gateway.messagelog import MessageLog
from gateway.messagelog import SAFETY_NET_PAGES, WalCheckpointer
from gateway.monitoring import MonitoringFeed
from gateway.monitoring import OpMonitor
from gateway.signing import OwnOcspStore, PolicyAuthCheck, SignKey, XadesMessageSigning
from gateway.net import OcspResponsesApp
from gateway.net import PeerOcspCache, PeerTransport, client_ssl_context, server_ssl_context
from gateway.conf import InstanceConf, Router, SharedParamsView, split_address
from gateway.proxy import ServerProxy
from gateway.serverconf import ServerConf
from gateway.serverconf import open_engine
from gateway.net import WsgiServer
from gateway.provision import load_cert_chain, sign_keys
from gateway.settings import NodeSettings, SetupError, token_pin

log = logging.getLogger("sild.gateway.node")

ConfSource = Callable[[], Mapping[str, InstanceConf]]
XROAD_OCSP_PORT = 5577
WORKER_SYNC_SECONDS = 5  # how soon a worker process sees what its main process stored


class PolicyCache:
    """``TrustPolicy`` per instance from the current shared parameters (rebuilt on change)."""

    def __init__(self, source: ConfSource) -> None:
        self._source = source
        self._cache: dict[str, tuple[int, TrustPolicy]] = {}
        self._lock = threading.Lock()

    def __call__(self, instance: str, at: dt.datetime) -> TrustPolicy:
        conf = self._source().get(instance)
        if conf is None:
            from trust.protocol import XRoadFault

            raise XRoadFault("cert_validation", f"no valid configuration of instance {instance}")
        with self._lock:
            hit = self._cache.get(instance)
            if hit is not None and hit[0] == id(conf.shared):
                return hit[1]
        policy = conf.shared.to_trust_policy()
        with self._lock:
            self._cache[instance] = (id(conf.shared), policy)
        return policy


def _metrics() -> Any:
    """Prometheus metrics when ``prometheus_client`` is installed (an optional dependency)."""
    try:
        from gateway.monitoring import GatewayMetrics
    except ImportError:
        return None
    return GatewayMetrics()


class GatewayNode:
    """All parts of one gateway, started and stopped together."""

    def __init__(self, directory: Path | str, *, pin: str | None = None, conf_source: ConfSource | None = None,
                 clock: Callable[[], dt.datetime] = utc_now, conf_store: Any = None) -> None:
        self.directory = Path(directory)
        self.settings = NodeSettings.load(self.directory)
        self.pin = token_pin(self.directory, pin)
        self.clock = clock
        self.server_id = self.settings.server_id
        self.token = SoftToken(self.directory / "token", self.pin)
        self.auth_chain = load_cert_chain(self.directory, "auth")
        self.sign_keys = {member: SignKey(key_id, tuple(load_cert_chain(self.directory, key_id)))
                          for key_id, member in sign_keys(self.directory).items()
                          if (self.directory / "certs" / f"{key_id}.pem").is_file()}
        if self.server_id.owner not in self.sign_keys:
            raise SetupError("no sign certificate of the owner imported yet; run `sild gateway import-cert`")
        self.conf_store = conf_store
        if conf_source is None:
            if conf_store is None:
                from gateway.conf import ConfStore

                self.conf_store = ConfStore(self.directory, self.settings, clock=clock)
            conf_source = self.conf_store.current
        self.conf_source = conf_source
        self.view = SharedParamsView(self.settings.instance, conf_source)
        self.policy_for = PolicyCache(conf_source)

        self.serverconf = ServerConf(open_engine(self.settings.serverconf_database(self.directory)), clock=clock)
        try:
            self.serverconf.identity()
        except Exception:  # noqa: BLE001 - first start: no identity stored yet
            self.serverconf.set_identity(self.server_id)
        self.messagelog = MessageLog(open_engine(self.settings.messagelog_database(self.directory),
                                                 synchronous=self.settings.messagelog_synchronous,
                                                 cache_kib=self.settings.messagelog_cache_mib * 1024,
                                                 wal_autocheckpoint=SAFETY_NET_PAGES), clock=clock)
        self._checkpointer = WalCheckpointer(self.messagelog.engine)  # runs with the jobs
        own_certs = {"auth": self.auth_chain[0]}
        own_certs.update({k.key_id: k.chain[0] for k in self.sign_keys.values()})
        self.own_ocsp = OwnOcspStore(self.directory / "ocsp", own_certs, self.policy_for, self.settings.instance)
        self.signing = XadesMessageSigning(self.token, self.sign_keys, ocsp=self.own_ocsp.for_key,
                                           policy_for=self.policy_for, clock=clock)
        self.auth_check = PolicyAuthCheck(self.policy_for)
        view = self.view
        self.access = AccessChecker(self.serverconf.snapshot,
                                    lambda group, client: group in view.global_groups_of(client, clock()))
        self.opmonitor = OpMonitor(self.messagelog.engine, clock=clock)
        self.metrics = _metrics()
        if self.metrics is not None:
            self.metrics.bind_overdue(self.messagelog.timestamping_overdue)
        self.monitoring = MonitoringFeed(self.opmonitor, self.metrics)
        self.parts = GatewayParts(
            server_id=self.server_id, conf=self.view, serverconf=self.serverconf, access=self.access,
            signing=self.signing, auth_check=self.auth_check, log=self.messagelog, own_ocsp=self.own_ocsp,
            clock=clock, monitoring=self.monitoring,
        )
        key_path, password = self.token.key_file("auth")
        self._key = (str(self.directory / "certs" / "auth.pem"), str(key_path), password)
        self.transport = PeerTransport(client_ssl_context(*self._key))
        self.router = Router()
        self.peer_ocsp = PeerOcspCache(transport=self.transport)
        self.client_proxy = ClientProxy(self.parts, self.transport, self.router, peer_ocsp=self._fetch_peer_ocsp,
                                        wsdl_provider=self._wsdl, verificationconf=self._verificationconf)
        self.ocsp_app = OcspResponsesApp(self.own_ocsp.for_cert)
        self.server_proxy = ServerProxy(self.parts, ocsp_app=self.ocsp_app)
        self._servers: list[WsgiServer] = []
        self._sockets: dict[str, socket.socket] = {}  # "is", "is-tls", "peer": listening, shared with workers
        self._addresses: dict[str, tuple[str, int]] = {}  # their (host, port), known after they close
        self.workers: Any = None  # gateway.node._workers.WorkerPool while worker processes run
        self._metrics_file: Path | None = None  # a worker's metrics for the main process
        self._worker_count = 1
        self._scheduler: Any = None
        self._server_ctx: Any = None
        self._ca_loaded = b""

    # -- helpers the proxies call ------------------------------------------------------
    def _fetch_peer_ocsp(self, entry: Any, der: bytes) -> list[bytes]:
        """sild peers answer on their mutual-TLS port; X-Road peers on plain HTTP port 5577."""
        from gateway.net import PeerError

        host, port = split_address(entry.address)
        try:
            return self.peer_ocsp.get(f"https://{host}:{port}/", der)
        except PeerError:
            return self.peer_ocsp.get(f"http://{host}:{XROAD_OCSP_PORT}/", der)

    def _wsdl(self, service: Any, client_text: str | None, own_url: str) -> bytes:
        from gateway.proxy import provider_wsdl

        return provider_wsdl(self, service, client_text, own_url)

    def _verificationconf(self) -> bytes:
        if self.conf_store is None or not hasattr(self.conf_store, "verificationconf_zip"):
            from trust.protocol import XRoadFault

            raise XRoadFault("server.clientproxy.internal_error", "no verification configuration available")
        return self.conf_store.verificationconf_zip()  # type: ignore[no-any-return]

    # -- lifecycle ---------------------------------------------------------------------
    def refresh_conf(self) -> None:
        if self.conf_store is not None and hasattr(self.conf_store, "refresh"):
            self.conf_store.refresh()
        self._reload_cas()

    def _reload_cas(self) -> None:
        """Add newly approved CAs to the TLS server context (the app-level check decides)."""
        if self._server_ctx is None:
            return
        pem = self.view.ca_certs_pem(self.clock())
        if pem and pem != self._ca_loaded:
            self._server_ctx.load_verify_locations(cadata=pem.decode("ascii"))
            self._ca_loaded = pem

    def _peer_tls_context(self, unavailable: str) -> None:
        """The mutual-TLS server context, trusting the CAs approved in the configuration in use."""
        ca_pem = self.view.ca_certs_pem(self.clock())
        if not ca_pem:
            raise SetupError(unavailable)
        self._server_ctx = server_ssl_context(*self._key, ca_pem)
        self._ca_loaded = ca_pem

    def _is_tls_context(self) -> Any:
        """HTTPS for information systems with the internal (self-signed) TLS certificate.

        A client certificate is asked for but not required; the client proxy decides per
        client subsystem (``https-cert`` wants one of the certificates registered for it).
        The registered IS certificates are the context's trust anchors (they are
        usually self-signed), added as they are registered (:meth:`reload_is_certs`).
        """
        import ssl

        from gateway.provision import INTERNAL_KEY, ensure_internal_tls

        cert = ensure_internal_tls(self.directory, pin=self.pin, now=self.clock())
        key_path, password = self.token.key_file(INTERNAL_KEY)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(cert), str(key_path), password=password)
        ctx.verify_mode = ssl.CERT_NONE
        self._is_loaded: set[bytes] = set()
        self._is_ctx = ctx
        self.reload_is_certs()
        return ctx

    def reload_is_certs(self) -> None:
        """Trust newly registered IS certificates on the HTTPS IS port."""
        import ssl

        from sqlalchemy import select

        from gateway.serverconf import _models as m

        ctx = getattr(self, "_is_ctx", None)
        if ctx is None:
            return
        with self.serverconf.read() as session:
            ders = set(session.scalars(select(m.IsCert.der)).all())
        fresh = ders - self._is_loaded
        if fresh:
            ctx.load_verify_locations(cadata=b"".join(fresh))  # DER certificates, concatenated
            ctx.verify_mode = ssl.CERT_OPTIONAL
            self._is_loaded |= fresh

    def refresh_ocsp(self, *, only_if_due: bool = False) -> None:
        at = self.clock()
        if only_if_due and not self.own_ocsp.due(at, self.settings.ocsp_interval_seconds):
            return
        try:
            self.own_ocsp.refresh(at)
        except Exception as exc:  # noqa: BLE001 - a job must keep running; the failure is reported
            log.warning("OCSP refresh failed: %s", exc)

    def start(self, *, jobs: bool = True, workers: int | None = None) -> "GatewayNode":
        """Serve the ports and run the jobs; ``workers`` (default: the setting) processes serve the ports."""
        from gateway.conf import ConfStore

        s = self.settings
        self._worker_count = s.workers if workers is None else workers
        if self._worker_count > 1 and not isinstance(self.conf_store, ConfStore):
            raise SetupError("worker processes read the configuration this node stores; "
                             "a node with an injected configuration source runs as one process")
        if self.conf_store is not None and hasattr(self.conf_store, "refresh"):
            try:
                self.conf_store.refresh()
            except Exception as exc:  # noqa: BLE001 - a stored configuration may still be valid
                log.warning("configuration download failed at start: %s", exc)
        self._peer_tls_context("no global configuration available yet; cannot start the mutual-TLS port")
        for attempt in range(3):  # without own OCSP responses no peer accepts this gateway
            self.refresh_ocsp()
            if not self.own_ocsp.due(self.clock(), self.settings.ocsp_interval_seconds):
                break
            time.sleep(1.0 + attempt)
        if self._worker_count > 1:
            self._bind_ports()  # the workers serve them; this process supervises and runs the jobs
        else:
            self._open_ports()
        if s.ocsp_port:
            self._servers.append(WsgiServer(self.ocsp_app, s.peer_host, s.ocsp_port, name="sild-ocsp").start())
        if s.admin_port:
            admin = self._admin_app()
            if admin is not None:
                self._servers.append(WsgiServer(admin, "127.0.0.1", s.admin_port, name="sild-admin").start())
        if jobs:
            self._start_jobs()
        if self._worker_count > 1:
            self._start_workers(self._worker_count)
        return self

    def _bind_ports(self) -> None:
        """Bind the IS port(s) and the mutual-TLS port for worker processes, without serving them here."""
        from gateway.net import bind_listening
        from gateway.provision import ensure_internal_tls

        s = self.settings
        self._listening("is", bind_listening(s.is_host, s.is_port))
        if s.is_tls_port:
            ensure_internal_tls(self.directory, pin=self.pin, now=self.clock())  # made once, before workers read it
            self._listening("is-tls", bind_listening(s.is_host, s.is_tls_port))
        self._listening("peer", bind_listening(s.peer_host, s.peer_port))

    def _listening(self, name: str, sock: socket.socket) -> None:
        self._sockets[name] = sock
        self._addresses[name] = sock.getsockname()[:2]

    def _open_ports(self, sockets: Mapping[str, socket.socket] | None = None) -> None:
        """The IS port(s) and the mutual-TLS port: bound here, or ``sockets`` the main process bound."""
        s = self.settings
        given = sockets or {}

        def serve(name: str, app: Any, host: str, port: int, **kw: Any) -> None:
            server = WsgiServer(app, host, port, name=f"sild-{name}", listen_socket=given.get(name), **kw).start()
            self._listening(name, server.listening_socket)
            self._servers.append(server)

        serve("is", self.client_proxy, s.is_host, s.is_port, proxy_mode=True)
        if s.is_tls_port:
            self._is_ctx = self._is_tls_context()
            serve("is-tls", self.client_proxy, s.is_host, s.is_tls_port, ssl_context=self._is_ctx, proxy_mode=True)
        serve("peer", self.server_proxy, s.peer_host, s.peer_port, ssl_context=self._server_ctx, threads=32)

    def _start_workers(self, count: int) -> None:
        from ._workers import WorkerPool

        if self.metrics is not None:
            self.metrics_dir.mkdir(parents=True, exist_ok=True)
            for stale in self.metrics_dir.glob("*.prom"):  # from an earlier run with more workers
                stale.unlink()
        self.workers = WorkerPool(self.directory, count, dict(self._sockets), self.pin,
                                  on_exit=self._worker_exited).start()

    @property
    def metrics_dir(self) -> Path:
        """Where worker processes leave their metrics for the main process's ``/metrics``."""
        return self.directory / "workers"

    @property
    def worker_metrics_dir(self) -> Path | None:
        """:attr:`metrics_dir` when this node runs worker processes (the admin API adds their figures)."""
        return self.metrics_dir if self._worker_count > 1 and self.metrics is not None else None

    def _worker_exited(self, index: int) -> None:
        """Keep an exited worker's figures (its successor starts from zero under the same file name)."""
        if self.metrics is None:
            return
        try:
            self.metrics.retire(self.metrics_dir / f"worker-{index}.prom")
        except OSError as exc:
            log.warning("metrics of worker %d not kept: %s", index, exc)

    def start_worker(self, sockets: Mapping[str, socket.socket], index: int) -> "GatewayNode":
        """Serve the main process's ports from a worker process (:mod:`gateway.node._workers`).

        No downloads, no timestamping, no admin API: those run in the main process. A
        job picks up what the main process stores (:meth:`sync_from_main`).
        """
        from apscheduler.schedulers.background import BackgroundScheduler

        missing = {"is", "peer"} - set(sockets)
        if missing:
            raise SetupError(f"a worker needs the listening sockets {sorted(missing)} of its main process")
        self._peer_tls_context("no global configuration stored yet; a worker cannot serve the mutual-TLS port")
        self._metrics_file = self.metrics_dir / f"worker-{index}.prom" if self.metrics is not None else None
        self._open_ports(sockets)
        sched = BackgroundScheduler(timezone=dt.timezone.utc)
        sched.add_job(self.sync_from_main, "interval", seconds=min(WORKER_SYNC_SECONDS, self.settings.conf_interval_seconds),
                      id="sync-from-main", max_instances=1, coalesce=True)
        sched.start()
        self._scheduler = sched
        return self

    def sync_from_main(self) -> None:
        """A worker catches up with what its main process stored: configuration, OCSP responses, IS certificates."""
        if self.conf_store is not None and hasattr(self.conf_store, "reload") and self.conf_store.reload():
            self._reload_cas()
        self.own_ocsp.reload()
        if self.settings.is_tls_port:
            self.reload_is_certs()
        if self._metrics_file is not None and self.metrics is not None:
            self.metrics.dump(self._metrics_file)

    def _admin_app(self) -> Any:
        try:
            from gateway.admin import create_app
        except ImportError:
            log.warning("admin API not available in this build")
            return None
        return create_app(self)

    def _start_jobs(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        sched = BackgroundScheduler(timezone=dt.timezone.utc)
        sched.add_job(self.refresh_conf, "interval", seconds=self.settings.conf_interval_seconds,
                      id="conf-download", max_instances=1, coalesce=True)
        # checked often, fetched when due: a failed fetch (responder down at start) is retried soon
        sched.add_job(self.refresh_ocsp, "interval", kwargs={"only_if_due": True},
                      seconds=min(30, self.settings.ocsp_interval_seconds), id="ocsp-refresh", max_instances=1,
                      coalesce=True)
        if self.settings.is_tls_port:
            sched.add_job(self.reload_is_certs, "interval", seconds=5, id="is-certs", max_instances=1, coalesce=True)
        stamper = self._timestamper()
        if stamper is not None:
            stamper.schedule(sched, interval_seconds=self.settings.timestamp_interval_seconds)
        self._schedule_housekeeping(sched)
        sched.start()
        self._scheduler = sched
        self._checkpointer.start()

    def _schedule_housekeeping(self, sched: Any) -> None:
        """Archiving of timestamped log records (chained ASiC-E archives) and monitoring retention."""
        from gateway.messagelog import Archiver

        Archiver(self.messagelog, self.directory / "archive").schedule(sched)
        self.opmonitor.schedule(sched)

    def _timestamper(self) -> Any:
        from trust.evidence import TimestampClient

        from gateway.messagelog import Timestamper, evidence_stamper

        try:
            policy = self.policy_for(self.settings.instance, self.clock())
        except Exception:  # noqa: BLE001
            return None
        if not policy.tsas:
            log.warning("no approved TSA in the configuration: messages will not be timestamped")
            return None
        tsa = policy.tsas[0]
        self._tsa_client = TimestampClient(tsa.url, [tsa.cert])
        return Timestamper(self.messagelog, evidence_stamper(self._tsa_client), clock=self.clock)

    def timestamp_now(self) -> int:
        stamper = self._timestamper()
        return int(stamper.run_all()) if stamper is not None else 0

    @property
    def is_url(self) -> str:
        host, port = self._addresses["is"]
        return f"http://{host}:{port}"

    @property
    def peer_port(self) -> int:
        return self._addresses["peer"][1]

    def stop(self) -> None:
        if self.workers is not None:
            self.workers.stop()
            self.workers = None
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self._checkpointer.stop()
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        for sock in self._sockets.values():  # the ports bound for workers (a served one is closed already)
            sock.close()
        self._sockets.clear()
        self.transport.close()
        self.router.close()
        self.peer_ocsp.close()
        self.own_ocsp.close()
        self.parts.backends.close()
        self.monitoring.close()
        if self._metrics_file is not None and self.metrics is not None:
            self.metrics.dump(self._metrics_file)  # a worker's last figures, for the main process

    def status(self) -> dict[str, object]:
        """Configuration age/expiry, OCSP and timestamping health, registration state."""
        at = self.clock()
        confs = self.conf_source()
        out: dict[str, object] = {"server": self.server_id.to_text(), "instance": self.settings.instance}
        out["configuration"] = {
            inst: {"expires_at": c.expires_at.isoformat(), "valid": c.expires_at > at} for inst, c in confs.items()
        }
        out["ocsp"] = self.own_ocsp.health()
        try:
            out["timestamping"] = self.messagelog.status(at)
        except Exception as exc:  # noqa: BLE001
            out["timestamping"] = {"error": str(exc)}
        own = confs.get(self.settings.instance)
        registered = False
        if own is not None:
            registered = any(s.server_id == self.server_id for s in own.shared.security_servers)
        out["registration"] = "registered" if registered else "not registered"
        return out
