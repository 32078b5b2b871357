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
from gateway.messagelog import BodyLogging, MessageLog, MessageLogConfig
from gateway.messagelog import SAFETY_NET_PAGES, WalCheckpointer
from gateway.monitoring import MonitoringFeed
from gateway.monitoring import OpMonitor
from gateway.signing import OwnOcspStore, PolicyAuthCheck, SignKey, XadesMessageSigning
from gateway.net import OcspResponsesApp
from gateway.net import PeerOcspCache, PeerTransport, client_ssl_context
from gateway.conf import InstanceConf, Router, SharedParamsView, split_address
from gateway.proxy import ServerProxy
from gateway.serverconf import ServerConf
from gateway.db import open_engine
from gateway.net import EdgeServer, WsgiServer
from gateway.provision import auth_tls_key, open_registry, signing_keys
from gateway.settings import NodeSettings, SetupError, token_pin

from ._live import NodeLive

log = logging.getLogger("sild.gateway.node")

ConfSource = Callable[[], Mapping[str, InstanceConf]]
XROAD_OCSP_PORT = 5577


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


def _messagelog_config(settings: NodeSettings, serverconf: ServerConf) -> MessageLogConfig:
    """Body logging as set: the gateway's switch, each own subsystem's override (read live), the remote list."""
    from trust.protocol import parse_client

    def own(client: Any) -> bool | None:
        info = serverconf.snapshot().client(client)
        return None if info is None else info.body_logging

    policy = BodyLogging(settings.message_body_logging, own,
                         frozenset(parse_client(c) for c in settings.message_body_logging_remote_overrides))
    return MessageLogConfig(body_logging=settings.message_body_logging, body_policy=policy)


def _metrics() -> Any:
    """Prometheus metrics when ``prometheus_client`` is installed (an optional dependency)."""
    try:
        from gateway.monitoring import GatewayMetrics
    except ImportError:
        return None
    return GatewayMetrics()


class GatewayNode(NodeLive):
    """All parts of one gateway, started and stopped together.

    The ports and TLS contexts come from :class:`~gateway.node._ports.NodePorts`, the
    jobs and the worker roles from :class:`~gateway.node._jobs.NodeJobs`, following
    changes made beside the running node from :class:`~gateway.node._live.NodeLive`.
    """

    def __init__(self, directory: Path | str, *, pin: str | None = None, conf_source: ConfSource | None = None,
                 clock: Callable[[], dt.datetime] = utc_now, conf_store: Any = None) -> None:
        self.directory = Path(directory)
        self.settings = NodeSettings.load(self.directory)
        self.pin = token_pin(self.directory, pin)
        self.clock = clock
        self.server_id = self.settings.server_id
        self._load_keys()
        self._attach_configuration(conf_source, conf_store)
        self._open_stores()
        self._build_parts()
        self._build_proxies()
        self._servers = []
        self._health_server: EdgeServer | None = None  # the health port (gateway.node._healthport), main process only
        self._sockets = {}  # "is", "is-tls", "peer": listening, shared with workers
        self._addresses = {}  # their (host, port), known after they close
        self.workers = None  # gateway.node._workers.WorkerPool while worker processes run
        self._metrics_file = None  # a worker's metrics for the main process
        self._worker_count = 1
        self._scheduler = None
        self._server_ctx = None
        self._peer_ctx = None  # the newest mutual-TLS server context (see NodePorts._pick_peer_context)
        self._ca_loaded = b""
        self._is_worker = False
        self._start_following()

    # -- wiring (in this order: each step uses what the earlier ones built) -------------
    def _load_keys(self) -> None:
        """The tokens, the auth certificate chain and the sign keys of the members served.

        The soft token holds the TLS keys (the TLS stack reads their files); messages are
        signed through the key registry, which reaches PKCS#11 tokens too (their PINs
        from ``SILD_TOKEN_PIN_<NAME>``) and refuses a disabled key.
        """
        self.token = SoftToken(self.directory / "token", self.pin)
        self.keys = open_registry(self.directory, self.pin)
        # the TLS key: the auth key the registry picks (a renewed one once its certificate is active)
        self.auth_key_id, self.auth_chain, self._key = auth_tls_key(self.directory, self.keys)
        self.sign_keys = {member: SignKey(key_id, tuple(chain))
                          for member, (key_id, chain) in signing_keys(self.directory, self.keys).items()}
        if self.server_id.owner not in self.sign_keys:
            raise SetupError("no sign certificate of the owner imported yet; run `sild gateway import-cert`")

    def _attach_configuration(self, conf_source: ConfSource | None, conf_store: Any) -> None:
        """The global configuration: the injected source, or the store this node downloads into."""
        self.conf_store = conf_store
        if conf_source is None:
            if conf_store is None:
                from gateway.conf import ConfStore

                self.conf_store = ConfStore(self.directory, self.settings, clock=self.clock)
            conf_source = self.conf_store.current
        self.conf_source = conf_source
        self.view = SharedParamsView(self.settings.instance, conf_source)
        self.policy_for = PolicyCache(conf_source)

    def _open_stores(self) -> None:
        """The server configuration and the message log databases (the log counts its appends in the metrics)."""
        clock = self.clock
        self.metrics = _metrics()
        on_append = self.metrics.messagelog_appends.inc if self.metrics is not None else None
        self.serverconf = ServerConf(open_engine(self.settings.serverconf_database(self.directory)), clock=clock)
        try:
            stored = self.serverconf.identity()
        except Exception:  # noqa: BLE001 - first start: no identity stored yet
            stored = None
        if stored != self.server_id:  # first start, or an owner change applied while the node was stopped
            self.serverconf.set_identity(self.server_id)
        self.messagelog = MessageLog(open_engine(self.settings.messagelog_database(self.directory),
                                                 synchronous=self.settings.messagelog_synchronous,
                                                 cache_kib=self.settings.messagelog_cache_mib * 1024,
                                                 wal_autocheckpoint=SAFETY_NET_PAGES), clock=clock,
                                     on_append=on_append, config=_messagelog_config(self.settings, self.serverconf))
        self._checkpointer = WalCheckpointer(self.messagelog.engine)  # runs with the jobs

    def _build_parts(self) -> None:
        """OCSP of own certificates, signing, access, monitoring: the parts both proxies share."""
        clock = self.clock
        own_certs = {self.auth_key_id: self.auth_chain[0]}
        own_certs.update({k.key_id: k.chain[0] for k in self.sign_keys.values()})
        self._own_certs = own_certs  # the OCSP store holds this dict: live key changes update it in place
        self.own_ocsp = OwnOcspStore(self.directory / "ocsp", own_certs, self.policy_for, self.settings.instance,
                                      auth_key=self.auth_key_id)
        self.signing = XadesMessageSigning(self.keys, self.sign_keys, ocsp=self.own_ocsp.for_key,
                                           policy_for=self.policy_for, clock=clock)
        self.auth_check = PolicyAuthCheck(self.policy_for)
        view = self.view
        self.access = AccessChecker(self.serverconf.snapshot,
                                    lambda group, client: group in view.global_groups_of(client, clock()))
        self.opmonitor = OpMonitor(self.messagelog.engine, clock=clock)
        if self.metrics is not None:
            self.metrics.bind_overdue(self.messagelog.timestamping_overdue)
            self.metrics.bind_last_success(self.messagelog.last_timestamp_success)
        self.monitoring = MonitoringFeed(self.opmonitor, self.metrics)
        self.parts = GatewayParts(
            server_id=self.server_id, conf=self.view, serverconf=self.serverconf, access=self.access,
            signing=self.signing, auth_check=self.auth_check, log=self.messagelog, own_ocsp=self.own_ocsp,
            clock=clock, monitoring=self.monitoring,
        )
        self._attach_opmonitoring()

    def _attach_opmonitoring(self) -> None:
        """X-Road's op-monitoring metaservices: this node's records, its owner, and the central
        monitoring client named by the downloaded configuration (``gateway.proxy._opmonitoring``)."""
        from gateway.monitoring import MonitoringClientSource
        from gateway.proxy import OpMonitoringService

        self.parts.extra["opmonitoring"] = OpMonitoringService(
            self.opmonitor, self.server_id.owner, MonitoringClientSource(self.directory / "conf", self.settings.instance),
            started_ms=self.monitoring.started_ms)

    def _build_proxies(self) -> None:
        """The peer transport and the two proxies (and the OCSP-responses app the server proxy serves)."""
        self._client_ctx = client_ssl_context(*self._key)  # a new auth key and certificate are loaded into it live
        self.transport = PeerTransport(self._client_ctx)
        self.router = Router()
        self.peer_ocsp = PeerOcspCache(transport=self.transport)
        self.client_proxy = ClientProxy(self.parts, self.transport, self.router, peer_ocsp=self._fetch_peer_ocsp,
                                        wsdl_provider=self._wsdl, verificationconf=self._verificationconf)
        self.ocsp_app = OcspResponsesApp(self.own_ocsp.for_cert)
        self.server_proxy = ServerProxy(self.parts, ocsp_app=self.ocsp_app)

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
                self.observe_conf(self.conf_store.refresh())
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
            self._servers.append(EdgeServer(self.ocsp_app, s.peer_host, s.ocsp_port, name="sild-ocsp").start())
        if s.admin_port:
            admin = self._admin_app()
            if admin is not None:
                from gateway.admin import admin_ssl_context  # HTTPS always: the port carries API keys

                context = admin_ssl_context(self.directory, s, now=self.clock())
                self._servers.append(WsgiServer(admin, s.admin_listen, s.admin_port, name="sild-admin",
                                                ssl_context=context).start())
        if s.health_port:  # the main process: it runs the jobs and knows the node's state (gateway.node._healthport)
            from ._healthport import HealthApp

            self._health_server = EdgeServer(HealthApp(self.traffic_health), s.peer_host, s.health_port,
                                             name="sild-health", threads=2).start()
            self._servers.append(self._health_server)
        if jobs:
            self._start_jobs()
        if self._worker_count > 1:
            self._start_workers(self._worker_count)
        return self

    def traffic_health(self) -> dict[str, Any]:
        """The verdict the health port gives a load balancer: the diagnostics' one, databases and drain included."""
        return self.status(for_traffic=True)["health"]  # type: ignore[return-value]

    def begin_drain(self) -> None:
        """A drain started (``gateway.node._drain``): every answer on the traffic ports closes its connection."""
        for server in self._servers:
            if server is not self._health_server and isinstance(server, EdgeServer):
                server.close_after_answers()

    def _admin_app(self) -> Any:
        try:
            from gateway.admin import create_app
        except ImportError:
            log.warning("admin API not available in this build")
            return None
        return create_app(self)

    def stop(self, *, drain_seconds: float | None = None) -> None:
        """Stop everything; ``drain_seconds``: how long answers in progress may take (a drain's timeout)."""
        if self.workers is not None:
            self.workers.stop() if drain_seconds is None else self.workers.stop(timeout=drain_seconds + 10)
            self.workers = None
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self._checkpointer.stop()
        for server in reversed(self._servers):
            server.stop(timeout=drain_seconds) if isinstance(server, EdgeServer) else server.stop()
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

    def status(self, *, for_traffic: bool = False) -> dict[str, object]:
        """The report of `sild gateway status` and `/api/v1/diagnostics`, with what this node holds in memory."""
        from ._status import gateway_status

        return gateway_status(self.directory, self.clock(), confs=self.conf_source(),
                              ocsp_health=self.own_ocsp.health(), messagelog=self.messagelog,
                              engines={"server configuration": self.serverconf.engine,
                                       "message log": self.messagelog.engine}, for_traffic=for_traffic)
