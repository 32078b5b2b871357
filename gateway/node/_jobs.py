"""What a gateway node runs besides serving: its jobs and its worker processes.

The main process alone runs what must happen once per node (configuration download,
OCSP refresh of its own certificates, batch timestamping, archiving and monitoring
retention) on one APScheduler, and supervises the worker processes; a worker serves
the ports its main process bound and catches up with what the main process stores
(:meth:`NodeJobs.sync_from_main`). Why the two roles exist is told in
:mod:`gateway.node._workers`; this module is the node's side of them, the part of
:class:`~gateway.node.GatewayNode` that :class:`NodeJobs` gives it.

In a cluster (several nodes of one gateway identity on one shared server
configuration) every node runs all of these jobs, and none needs the cluster-wide
lease (:class:`trust.infra.Lease`, which the authority's generator holds): each job
writes only what belongs to its node. Configuration download writes the node's
``conf/``, the OCSP refresh its ``ocsp/``, timestamping, archiving and monitoring
retention its own message log (a database per node: nodes must not share one, or
two nodes would stamp and archive the same records), and following changes only reads. A job that came to write the shared server configuration (a
scheduled refresh of service descriptions, say) would have to run under such a lease.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
from pathlib import Path
from typing import Any, Mapping, Self

from gateway.messagelog import MessageLog, WalCheckpointer
from gateway.monitoring import OpMonitor
from gateway.settings import SetupError
from gateway.signing import OwnOcspStore

from ._ports import NodePorts

log = logging.getLogger("sild.gateway.node")
WORKER_SYNC_SECONDS = 5  # how soon a worker process sees what its main process stored


class NodeJobs(NodePorts):
    """Scheduled jobs, worker supervision and a worker's catch-up of :class:`~gateway.node.GatewayNode`."""

    # what the node provides (set in GatewayNode.__init__)
    conf_store: Any
    policy_for: Any
    own_ocsp: OwnOcspStore
    messagelog: MessageLog
    opmonitor: OpMonitor
    metrics: Any
    workers: Any
    _checkpointer: WalCheckpointer
    _metrics_file: Path | None
    _worker_count: int
    _scheduler: Any
    _is_worker: bool
    _stamp_lock: threading.Lock | None = None  # one timestamping run at a time (job or run now)
    _tsa_in_use: tuple[tuple[str, bytes], ...] | None = None  # the TSAs the timestamping job stamps with, in order

    def refresh_conf(self) -> None:
        if self.conf_store is not None and hasattr(self.conf_store, "refresh"):
            self.observe_conf(self.conf_store.refresh())
        self._reload_cas()
        self._follow_tsa()

    def _follow_tsa(self) -> None:
        """The TSAs to stamp with changed (configuration or ``timestamping_services``): the job moves to them.

        Why: the job is made at start with the chosen approved TSAs; an authority that
        replaces its TSA, or an operator who chooses others (``sild gateway tsa use``),
        would otherwise leave the node stamping with the old ones until a restart.
        """
        sched = getattr(self, "_scheduler", None)
        if sched is None or getattr(self, "_is_worker", False) or self._chosen_tsas() == self._tsa_in_use:
            return
        stamper = self._timestamper()
        if stamper is not None:
            stamper.schedule(sched, interval_seconds=self.settings.timestamp_interval_seconds)  # replaces the job
            log.info("timestamping now with %s", ", ".join(url for url, _ in self._tsa_in_use or ()))
        elif sched.get_job("messagelog-timestamping") is not None:
            sched.remove_job("messagelog-timestamping")

    def _approved_tsas(self) -> list[Any] | None:
        """The TSAs to stamp with, in order of use (``timestamping_services`` among the approved); None: no configuration."""
        from gateway.messagelog import choose_tsas

        try:
            tsas = self.policy_for(self.settings.instance, self.clock()).tsas
        except Exception:  # noqa: BLE001 - no valid configuration: nothing to stamp with
            return None
        # lenient: a TSA the configuration withdrew since it was chosen is skipped, not fatal
        return choose_tsas(tsas, self.settings.timestamping_services, strict=False)

    def _chosen_tsas(self) -> tuple[tuple[str, bytes], ...] | None:
        """(URL, certificate) of each TSA the node stamps with, in order: what the job was built with."""
        from trust.pki import cert_der

        tsas = self._approved_tsas()
        return None if tsas is None else tuple((t.url, cert_der(t.cert)) for t in tsas)

    def observe_conf(self, report: Any) -> None:
        """A configuration refresh in the metrics: expiry per instance, refused rollbacks."""
        if self.metrics is not None and report is not None:
            self.metrics.observe_configuration(report.outcomes)

    def refresh_ocsp(self, *, only_if_due: bool = False) -> None:
        at = self.clock()
        if only_if_due:
            self.own_ocsp.reload()  # what `sild gateway ocsp refresh` fetched beside this process
            if not self.own_ocsp.due(at, self.settings.ocsp_interval_seconds):
                return
        try:
            self.own_ocsp.refresh(at)
        except Exception as exc:  # noqa: BLE001 - a job must keep running; the failure is reported
            log.warning("OCSP refresh failed: %s", exc)

    def refresh_ocsp_now(self) -> dict[str, Any]:
        """Fetch the own certificates' OCSP responses now (admin API); the OCSP part of the status."""
        self.refresh_ocsp()
        return self.status()["ocsp"]  # type: ignore[attr-defined,no-any-return]

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
        self._schedule_following(sched)
        sched.start()
        self._scheduler = sched
        self._checkpointer.start()

    def _schedule_following(self, sched: Any) -> None:
        """Changes made beside the running process (:mod:`gateway.node._live`), checked every few seconds."""
        from ._live import LIVE_CHECK_SECONDS

        follow = getattr(self, "follow_changes", None)
        if follow is not None:
            sched.add_job(follow, "interval", seconds=LIVE_CHECK_SECONDS, id="follow-changes", max_instances=1,
                          coalesce=True)

    def _schedule_housekeeping(self, sched: Any) -> None:
        """Archiving of timestamped log records (chained ASiC-E archives) and monitoring retention."""
        from gateway.conf import ConfHistory
        from gateway.messagelog import Archiver, ArchivePolicy

        # the settings are read at every check: interval, threshold, directory and keep-days change live;
        # each container carries the signed configuration of its record's time (verifiable from the anchor)
        Archiver(self.messagelog, self.settings.archive_directory(self.directory),
                 carry=ConfHistory(self.directory).carried).follow(
            lambda: ArchivePolicy.of(self.settings, self.directory)).schedule(sched)
        self.opmonitor.schedule(sched)

    def _timestamper(self) -> Any:
        """A timestamper over the chosen TSAs, asked in order (:class:`gateway.messagelog.FailoverStamper`)."""
        from trust.evidence import TimestampClient

        from gateway.messagelog import Timestamper, evidence_stamper, failover_stamper

        tsas = self._approved_tsas()
        self._tsa_in_use = self._chosen_tsas()
        if tsas is None:
            return None
        if not tsas and not self.settings.timestamping_services:
            log.warning("no approved TSA in the configuration: messages will not be timestamped")
            return None
        # none of the chosen ones approved: a stamper that fails each run, so the diagnostics show it
        if getattr(self, "_stamp_lock", None) is None:
            self._stamp_lock = threading.Lock()
        return Timestamper(self.messagelog, failover_stamper(
            tsas, lambda tsa: evidence_stamper(TimestampClient(tsa.url, [tsa.cert]))), clock=self.clock,
            lock=self._stamp_lock)

    def timestamp_now(self) -> int:
        return int(self.timestamp_run()["stamped"])

    def timestamp_run(self) -> dict[str, Any]:
        """Stamp the waiting records now (``POST /api/v1/timestamping/run``): how many, and by which TSA.

        A failure of every chosen TSA raises :class:`gateway.messagelog.TimestampingFailed` (recorded in the log).
        """
        kept = self._tsa_in_use
        stamper = self._timestamper()
        # what the scheduled job stamps with: a run now must not hide a change from _follow_tsa
        self._tsa_in_use = kept
        if stamper is None:
            return {"stamped": 0, "tsa": None, "attempts": {}}
        stamped = int(stamper.run_all())
        outcomes = stamper.stamper.outcomes
        return {"stamped": stamped, "tsa": stamper.stamper.last_used if stamped else None,
                "attempts": {url: error or "ok" for url, (_, error) in outcomes.items()}}

    def _held_confs(self) -> Any:
        """The configurations this node holds in memory (given from elsewhere), as its status reads them."""
        source = getattr(self, "conf_source", None)
        return source() if source is not None else None

    def tsa_services(self) -> dict[str, Any]:
        """The approved TSAs, the chosen ones and each one's state (``GET /api/v1/timestamping-services``)."""
        from ._tsas import timestamping_services

        return timestamping_services(self.directory, self.clock(), self.messagelog, self._held_confs())

    def choose_tsas(self, chosen: list[str]) -> dict[str, Any]:
        """Choose the TSAs to stamp with, in order (``PUT``): checked, written, followed at the next live check."""
        from ._tsas import choose_timestamping_services

        choose_timestamping_services(self.directory, chosen, self.clock(), self._held_confs())
        return self.tsa_services()

    def check_settings(self, changes: dict[str, Any]) -> None:
        """``PATCH /api/v1/settings`` refuses a TSA the held configuration does not approve."""
        from ._tsas import check_timestamping_change

        check_timestamping_change(self.directory, changes, self.clock(), self._held_confs())

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

    def start_worker(self, sockets: Mapping[str, socket.socket], index: int) -> Self:
        """Serve the main process's ports from a worker process (:mod:`gateway.node._workers`).

        No downloads, no timestamping, no admin API: those run in the main process. A
        job picks up what the main process stores (:meth:`sync_from_main`).
        """
        from apscheduler.schedulers.background import BackgroundScheduler

        missing = {"is", "peer"} - set(sockets)
        if missing:
            raise SetupError(f"a worker needs the listening sockets {sorted(missing)} of its main process")
        self._is_worker = True
        self._peer_tls_context("no global configuration stored yet; a worker cannot serve the mutual-TLS port")
        self._metrics_file = self.metrics_dir / f"worker-{index}.prom" if self.metrics is not None else None
        self._open_ports(sockets)
        sched = BackgroundScheduler(timezone=dt.timezone.utc)
        sched.add_job(self.sync_from_main, "interval", seconds=min(WORKER_SYNC_SECONDS, self.settings.conf_interval_seconds),
                      id="sync-from-main", max_instances=1, coalesce=True)
        self._schedule_following(sched)
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
