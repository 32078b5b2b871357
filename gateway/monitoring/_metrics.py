"""Prometheus metrics of one gateway: requests, failures by code, latency.

Each :class:`GatewayMetrics` owns its own ``CollectorRegistry``; nothing is put in
``prometheus_client``'s global default registry, so two gateways in one process (the
sandbox, the tests) never mix their figures. :meth:`GatewayMetrics.render` gives the
text exposition format for a ``/metrics`` endpoint.

Labels are kept to bounded sets (side, service type, fault code); client and service
identifiers are *not* labels - they would make the number of series unbounded - and
live in operational monitoring records instead.

Several processes, one ``/metrics``
-----------------------------------
With ``workers: N`` a gateway runs as one main process and N-1 worker processes that
accept on the same sockets. Every process counts its own exchanges in its own registry
(memory is not shared, and a shared-memory "multiprocess mode" would put mmap files and
global state behind every counter). The admin API, which only the main process serves,
must still show the whole gateway. So:

* each worker calls :meth:`GatewayMetrics.dump` every few seconds and when it stops:
  its registry's text exposition is written atomically (temporary file + rename) to a
  ``*.prom`` file of its own in a directory the main process names;
* the main process answers ``/metrics`` with ``render(include=that_directory)``, which
  parses those files with ``prometheus_client``'s own parser and merges them with its
  own registry into ONE exposition, built by a throw-away collector and
  ``generate_latest`` (no hand-written exposition text).

Merge rules, per sample (same name and same labels):

* counters, histograms (``_bucket``, ``_sum``, ``_count``) and summaries are SUMMED;
  a scrape therefore shows the gateway's totals with the same series as one process
  would, and dashboards need no ``sum by`` over an extra label;
* ``_created`` takes the MINIMUM: the summed series has been counting since its earliest
  contributor began. (Keeping it, rather than dropping it, keeps the set of series the
  same with and without workers.)
* gauges are NOT merged: a gauge is one process's present state (the time of the last
  successful timestamping, whether timestamping is overdue), and those belong to the
  main process, so only the main process's gauge values appear. Families the main
  registry does not define are ignored: names and types come from this code, never
  from a file.

A file that cannot be read or parsed, or whose family is inconsistent (another type,
other histogram buckets, a negative or non-finite count) is skipped - the file, or that
family of it - with a logged warning; ``/metrics`` never fails because of a worker file.

Restarts. A process's counters start again at zero when it restarts. For the whole
gateway restarting (main and workers together) that is an ordinary counter reset, which
Prometheus' ``rate()``/``increase()`` handle. For ONE worker restarting, its figures are
part of a sum: if the restarted worker overwrote the dead worker's file, the sum would
drop by the dead worker's totals, and ``rate()`` would read the drop as a reset and count
the whole remaining sum as new increase for one interval. So before the main process
starts a replacement worker it calls :meth:`GatewayMetrics.retire` on the dead worker's
dump, which adds it into ``retired.prom`` (one file, however many restarts) and removes
it: the sum stays monotonic, losing at most the exchanges since that worker's last dump.
The main process empties the directory when it starts (its own restart, with all its
workers, is a real reset).
"""

from __future__ import annotations

import logging
import math
import os
import stat
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from trust.infra import write_atomic

log = logging.getLogger(__name__)

SIDES = ("client", "server")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

METRICS_FILE_SUFFIX = ".prom"
"""Only files with this suffix are read by ``render(include=...)``; :meth:`GatewayMetrics.dump` insists on it."""
MAX_INCLUDED_FILES = 256
"""At most this many files are merged (the first by name); far above any sensible number of workers."""
MAX_INCLUDED_FILE_BYTES = 1 << 20
"""A larger file is skipped: one process's dump is a few kB to some tens of kB (bounded labels)."""
MAX_INCLUDED_TOTAL_BYTES = 16 << 20
"""Files past this many bytes in all are skipped, so one scrape reads and parses a bounded amount."""
RETIRED_FILE = "retired.prom"
"""The summed last dumps of workers that have exited (:meth:`GatewayMetrics.retire`)."""

# sample suffixes that are summed, by family type; "_created" is merged with min()
_SUMMED_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
}
_CREATED = "_created"

_Labels = tuple[tuple[str, str], ...]
_Key = tuple[str, _Labels]


class GatewayMetrics:
    """The gateway's metrics in a registry of its own."""

    def __init__(self, *, namespace: str = "sild_gateway") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._files = threading.Lock()  # render(include=) never sees a retire() half done
        self.requests = Counter(
            "requests", "Exchanges handled, by proxy side and service type",
            ["side", "service_type"], namespace=namespace, registry=self.registry,
        )
        self.failures = Counter(
            "failures", "Exchanges that ended in an X-Road fault, by side and fault code",
            ["side", "code"], namespace=namespace, registry=self.registry,
        )
        self.latency = Histogram(
            "request_duration_seconds", "Time from request in to response out, by side",
            ["side", "service_type"], namespace=namespace, registry=self.registry, buckets=LATENCY_BUCKETS,
        )
        self.messagelog_appends = Counter(
            "messagelog_appends", "Message log records written", namespace=namespace, registry=self.registry,
        )
        self.timestamping_last_success = Gauge(
            "messagelog_timestamping_last_success_seconds", "Unix time of the last successful batch timestamp",
            namespace=namespace, registry=self.registry,
        )
        self.timestamping_overdue = Gauge(
            "messagelog_timestamping_overdue", "1 while messages are refused because timestamping is overdue",
            namespace=namespace, registry=self.registry,
        )

    def observe(self, side: str, service_type: str, duration_seconds: float, fault_code: str | None = None) -> None:
        """Record one exchange; ``fault_code`` (e.g. ``server.serverproxy.access_denied``) when it failed."""
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}")
        service_type = service_type if service_type in ("WSDL", "REST", "OPENAPI", "SOAP") else "OTHER"
        self.requests.labels(side, service_type).inc()
        self.latency.labels(side, service_type).observe(max(0.0, duration_seconds))
        if fault_code:
            self.failures.labels(side, _bounded_code(fault_code)).inc()

    def observe_record(self, record: Mapping[str, Any]) -> None:
        """Record an exchange from its operational monitoring record (X-Road field names)."""
        side = "client" if record.get("securityServerType") == "Client" else "server"
        start, end = record.get("requestInTs"), record.get("responseOutTs")
        duration = (end - start) / 1000.0 if isinstance(start, int) and isinstance(end, int) else 0.0
        fault = None if record.get("succeeded") else str(record.get("faultCode") or "unknown")
        self.observe(side, str(record.get("serviceType") or "OTHER"), duration, fault)

    def bind_overdue(self, check: Callable[[], bool]) -> None:
        """Let the overdue gauge ask the message log at scrape time."""
        self.timestamping_overdue.set_function(lambda: 1.0 if check() else 0.0)

    def dump(self, path: Path) -> None:
        """Write this registry's text exposition to ``path`` atomically (for a worker process).

        A reader sees the previous dump or this one, never half of one. The name must end
        in :data:`METRICS_FILE_SUFFIX`, or :meth:`render` would never read it; ``OSError``
        propagates (the caller logs it and tries again at its next dump).
        """
        if path.suffix != METRICS_FILE_SUFFIX or path.name.startswith("."):
            raise ValueError(f"a metrics dump must be a visible *{METRICS_FILE_SUFFIX} file, not {path.name!r}")
        write_atomic(path, generate_latest(self.registry), mode=0o600)

    def render(self, *, include: Path | None = None) -> tuple[bytes, str]:
        """(body, content type) in the Prometheus text format.

        Without ``include``: this registry alone. With ``include``, a directory: this
        registry merged with every ``*.prom`` dump in it (see the module docstring for the
        rules). The directory must not hold this process's own dump, which would count
        twice. What is read is bounded (:data:`MAX_INCLUDED_FILES` files, each at most
        :data:`MAX_INCLUDED_FILE_BYTES`, :data:`MAX_INCLUDED_TOTAL_BYTES` in all): the
        directory is only as trustworthy as the processes that can write to it, and a scrape
        runs in the admin API's request thread, so a stray or runaway file must cost a
        bounded amount of memory and time, never an unbounded one. A missing directory
        (no worker has dumped yet) gives this registry's figures alone.
        """
        if include is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        merged = _Merged(self.registry.collect())
        with self._files:
            for name, families in _read_dumps(include):
                merged.add(name, families)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(merged)
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def retire(self, dump: Path) -> None:
        """Fold the last dump of a worker that has EXITED into ``retired.prom`` beside it, and remove it.

        The main process calls this before it starts a replacement that will write to the
        same name: the dead worker's totals stay in the sums :meth:`render` shows, so they
        never drop (Prometheus would read a drop as a counter reset and count the whole
        remaining sum again). ``retired.prom`` keeps one series per label set, so it does not
        grow with restarts. Nothing to do if the worker never dumped; a dump that cannot be
        read or parsed is removed with a warning (``render`` never counted it). Only the
        summed families are kept: gauges are the main process's anyway. ``OSError`` from
        writing or removing propagates (the caller logs it).
        """
        directory = dump.parent
        target = directory / RETIRED_FILE
        if dump.name == RETIRED_FILE:
            raise ValueError(f"{RETIRED_FILE} is where dumps are retired to")
        with self._files:
            merged = _Merged(self.registry.collect(), own_samples=False)
            for path in (target, dump):
                try:
                    data = _read_bounded(path, MAX_INCLUDED_FILE_BYTES)
                except FileNotFoundError:
                    continue
                except OSError as exc:  # too large, not a regular file: render() does not count it either
                    log.warning("metrics: not retiring %s: %s", path.name, exc)
                    continue
                families = _parse(path.name, data)
                if families is not None:
                    merged.add(path.name, families)
            if dump.exists():
                registry = CollectorRegistry(auto_describe=False)
                registry.register(merged)
                write_atomic(target, generate_latest(registry), mode=0o600)
                dump.unlink()  # after the write: a crash in between counts twice, never loses


def _bounded_code(code: str) -> str:
    """Fault codes are a fixed vocabulary, but a peer can send anything: keep labels sane."""
    code = code.strip()[:100]
    return code if all(c.isalnum() or c in "._-" for c in code) and code else "invalid"


# -- reading the dumps of other processes -------------------------------------------------------


def _read_dumps(directory: Path) -> Iterable[tuple[str, list[Metric]]]:
    """(file name, parsed families) of each readable dump in ``directory``, in name order."""
    try:
        with os.scandir(directory) as entries:
            names = sorted(
                e.name for e in entries
                if e.name.endswith(METRICS_FILE_SUFFIX) and not e.name.startswith(".") and e.is_file(follow_symlinks=False)
            )
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("metrics: cannot list %s, showing this process only: %s", directory, exc)
        return
    if len(names) > MAX_INCLUDED_FILES:
        log.warning("metrics: %d dumps in %s, merging only the first %d", len(names), directory, MAX_INCLUDED_FILES)
        names = names[:MAX_INCLUDED_FILES]
    budget = MAX_INCLUDED_TOTAL_BYTES
    for name in names:
        try:
            data = _read_bounded(directory / name, min(MAX_INCLUDED_FILE_BYTES, budget))
        except OSError as exc:
            log.warning("metrics: skipping %s: %s", name, exc)
            continue
        budget -= len(data)
        families = _parse(name, data)
        if families is not None:
            yield name, families


def _parse(name: str, data: bytes) -> list[Metric] | None:
    """The families of one dump, parsed whole, or ``None`` (with a warning) if it is not one."""
    try:
        return list(text_string_to_metric_families(data.decode("utf-8")))
    except Exception as exc:  # the parser raises ValueError, IndexError, ...: any means "not a dump"
        log.warning("metrics: skipping %s, not a Prometheus text exposition: %s", name, exc)
        return None


def _read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused if larger than ``limit`` (no symlinks, no FIFOs)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path.name} is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{path.name} is larger than {limit} bytes (the bound of what one scrape reads)")
    return data


# -- merging ------------------------------------------------------------------------------------


class _Family:
    """One family of the merged output: this process's definition, summed samples."""

    def __init__(self, metric: Metric, own_samples: bool) -> None:
        self.name, self.documentation, self.type = metric.name, metric.documentation, metric.type
        self.samples: dict[_Key, float] = {}
        self.buckets: frozenset[str] | None = None  # the "le" values every histogram series must have
        for sample in metric.samples:
            self.samples[(sample.name, _labels(sample.labels))] = sample.value
        if self.type == "histogram":
            series = _histogram_series(self.name, self.samples)
            if series:
                self.buckets = next(iter(series.values()))
        if not own_samples:
            self.samples.clear()

    def to_metric(self) -> Metric:
        metric = Metric(self.name, self.documentation, self.type)
        for (name, labels), value in self.samples.items():
            metric.add_sample(name, dict(labels), value)
        return metric


class _Merged:
    """A collector giving this process's families with the summable samples of other dumps added."""

    def __init__(self, own: Iterable[Metric], *, own_samples: bool = True) -> None:
        """``own`` defines the families; ``own_samples=False`` takes only the definitions, not the values."""
        self.families = {metric.name: _Family(metric, own_samples) for metric in own}
        if not own_samples:  # only what is summed is worth keeping for later
            self.families = {n: f for n, f in self.families.items() if f.type in _SUMMED_SUFFIXES}

    def collect(self) -> list[Metric]:
        return [family.to_metric() for family in self.families.values()]

    def add(self, source: str, parsed: list[Metric]) -> None:
        """Merge the families of one dump; an inconsistent family is skipped with a warning."""
        for metric in parsed:
            family, created_only = self._target(source, metric)
            if family is None:
                continue
            try:
                contribution = _contribution(family, metric, created_only)
            except ValueError as exc:
                log.warning("metrics: skipping family %s of %s: %s", metric.name, source, exc)
                continue
            for key, value in contribution.items():
                old = family.samples.get(key)
                if old is None:
                    family.samples[key] = value
                elif key[0] == family.name + _CREATED:
                    family.samples[key] = min(old, value)
                else:
                    family.samples[key] = old + value

    def _target(self, source: str, metric: Metric) -> tuple[_Family | None, bool]:
        """The family ``metric`` adds to, and whether it is the separate ``<name>_created`` gauge."""
        family = self.families.get(metric.name)
        if family is not None:
            if family.type not in _SUMMED_SUFFIXES:
                return None, False  # a gauge (or info, ...): this process's value wins
            if metric.type != family.type:
                log.warning(
                    "metrics: skipping family %s of %s: type %s, expected %s", metric.name, source, metric.type, family.type,
                )
                return None, False
            return family, False
        # the text format puts _created samples in a family of their own, typed gauge
        if metric.name.endswith(_CREATED) and metric.type in ("gauge", "unknown"):
            family = self.families.get(metric.name[: -len(_CREATED)])
            if family is not None and family.type in _SUMMED_SUFFIXES:
                return family, True
        log.debug("metrics: ignoring family %s of %s, not one of this gateway's", metric.name, source)
        return None, False


def _contribution(family: _Family, metric: Metric, created_only: bool) -> dict[_Key, float]:
    """The samples ``metric`` adds to ``family``, checked; ``ValueError`` says why they are refused."""
    summed = () if created_only else tuple(family.name + s for s in _SUMMED_SUFFIXES[family.type])
    out: dict[_Key, float] = {}
    for sample in metric.samples:
        value = float(sample.value)
        if sample.name == family.name + _CREATED:
            if not math.isfinite(value):
                raise ValueError(f"{sample.name} is {value}")
        elif sample.name in summed:
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{sample.name} is {value}, a count must be finite and not negative")
        else:
            raise ValueError(f"unexpected sample {sample.name}")
        key = (sample.name, _labels(sample.labels))
        if key in out:
            raise ValueError(f"sample {sample.name}{dict(key[1])} given twice")
        out[key] = value
    if family.type == "histogram" and not created_only:
        _check_histogram(family, out)
    return out


def _check_histogram(family: _Family, samples: Mapping[_Key, float]) -> None:
    """Every series has the family's buckets (including +Inf), a _sum, and a _count equal to +Inf."""
    series = _histogram_series(family.name, samples)
    for labels, buckets in series.items():
        if family.buckets is None:
            family.buckets = buckets
        if buckets != family.buckets or "+Inf" not in buckets:
            raise ValueError(f"series {dict(labels)} has buckets {sorted(buckets)}, expected {sorted(family.buckets)}")
        count = samples.get((family.name + "_count", labels))
        if count is None or (family.name + "_sum", labels) not in samples:
            raise ValueError(f"series {dict(labels)} lacks _count or _sum")
        if count != samples[(family.name + "_bucket", tuple(sorted(labels + (("le", "+Inf"),))))]:
            raise ValueError(f"series {dict(labels)} has a _count other than its +Inf bucket")
    for name, labels in samples:
        if name in (family.name + "_count", family.name + "_sum") and labels not in series:
            raise ValueError(f"{name}{dict(labels)} has no buckets")


def _histogram_series(name: str, samples: Iterable[_Key]) -> dict[_Labels, frozenset[str]]:
    """Labels without ``le`` -> the ``le`` values of that series' buckets."""
    series: dict[_Labels, set[str]] = {}
    for sample_name, labels in samples:
        if sample_name == name + "_bucket":
            le = dict(labels).get("le")
            rest = tuple(item for item in labels if item[0] != "le")
            series.setdefault(rest, set()).add(le if le is not None else "")
    return {labels: frozenset(les) for labels, les in series.items()}


def _labels(labels: Mapping[str, str]) -> _Labels:
    return tuple(sorted(labels.items()))
