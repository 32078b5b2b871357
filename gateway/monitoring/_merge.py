"""Merging the metrics of several processes into one ``/metrics`` (and retiring a worker's figures).

Several processes, one ``/metrics``
-----------------------------------
With ``workers: N`` a gateway runs as one main process and N-1 worker processes that
accept on the same sockets. Every process counts its own exchanges in its own registry
(memory is not shared, and a shared-memory "multiprocess mode" would put mmap files and
global state behind every counter). The admin API, which only the main process serves,
must still show the whole gateway. So:

* each worker calls :meth:`~gateway.monitoring._metrics.GatewayMetrics.dump` every few seconds and when it stops:
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
starts a replacement worker it calls :meth:`~gateway.monitoring._metrics.GatewayMetrics.retire` on the dead worker's
dump, which adds it into ``retired.prom`` (one file, however many restarts) and removes
it: the sum stays monotonic, losing at most the exchanges since that worker's last dump.
The main process empties the directory when it starts (its own restart, with all its
workers, is a real reset).

:class:`~gateway.monitoring._metrics.GatewayMetrics` owns a registry and calls this
module from ``dump``/``render``/``retire``; here are the bounded reading of the dump
files and the merge, which share nothing with counting exchanges.
"""

from __future__ import annotations

import logging
import math
import os
import stat
from pathlib import Path
from typing import Iterable, Mapping

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

# the metrics' one logger: operators filter on it, whichever module of the room warns
log = logging.getLogger("gateway.monitoring._metrics")

METRICS_FILE_SUFFIX = ".prom"
"""Only files with this suffix are read by ``render(include=...)``; :meth:`~gateway.monitoring._metrics.GatewayMetrics.dump` insists on it."""
MAX_INCLUDED_FILES = 256
"""At most this many files are merged (the first by name); far above any sensible number of workers."""
MAX_INCLUDED_FILE_BYTES = 1 << 20
"""A larger file is skipped: one process's dump is a few kB to some tens of kB (bounded labels)."""
MAX_INCLUDED_TOTAL_BYTES = 16 << 20
"""Files past this many bytes in all are skipped, so one scrape reads and parses a bounded amount."""
RETIRED_FILE = "retired.prom"
"""The summed last dumps of workers that have exited (:meth:`~gateway.monitoring._metrics.GatewayMetrics.retire`)."""

# sample suffixes that are summed, by family type; "_created" is merged with min()
_SUMMED_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
}
_CREATED = "_created"

_Labels = tuple[tuple[str, str], ...]
_Key = tuple[str, _Labels]


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
