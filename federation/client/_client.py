"""The configuration client that every gateway runs.

Every refresh (60 s by default, an APScheduler job from :func:`schedule_refresh`):

1. **Own instance.** Try the anchor's sources (shuffled, HTTPS first). For each,
   ask ``?version=6`` and step down to 5, 4, 3, 2 while the server answers 404
   (X-Road's central server returns 404 for versions it does not publish). The
   answer is verified by :func:`federation.directory.verify_directory`: signature
   with the anchor's certificates, expiry, every part's SHA-512 (parts are fetched
   from ``Content-location`` resolved against the download URL, same origin only,
   and only when their hash changed since the stored copy), every part's schema.
   The first source that yields a verified configuration wins; a source that
   serves tampered or expired data is skipped like an unreachable one.
2. **No rollback.** A verified directory that expires before the newest one this
   client ever accepted for the instance (the high-water mark in
   ``high-water.json``, kept across restarts) is refused with
   ``federation.conf.rolled_back`` like a tampered one: the next source is tried,
   and when none serves a newer or equal one the stored copy stays in use.
   Expiry is the one moment a directory signs (``Expire-date``); X-Road's
   generator sets it to generation time plus a fixed validity, so an older
   directory expires earlier. An authority that shortens its validity interval
   is refused until its new directories expire after the mark (at most the old
   interval); the stored copy serves meanwhile.
3. **Store atomically** (:mod:`federation.client._store`): a new generation folder,
   then an atomic symlink swap. The raw directory is kept for re-verification.
4. **Federation.** For each trusted anchor in the own private parameters whose
   instance ``allowed-federations`` admits (``none`` by default, ``all``, or a
   case-insensitive list such as ``ee,fi``), download that partner's
   ``externalconf`` the same way, verified with the partner's anchor, keeping its
   shared parameters only. Partners no longer trusted or allowed are removed.
5. **Failure keeps the last good copy.** When no source gives a valid
   configuration, nothing stored is touched; ``status.json`` records when and why
   (the error code, e.g. ``federation.conf.hash_mismatch``), and the refresh report
   says it too. The stored copy stays in use until it expires.

**Expiry.** :meth:`ConfigurationClient.ensure_current` raises
:class:`~federation.model._errors.ConfOutdated` (X-Road's ``global_conf_outdated``)
once the own instance's configuration has expired: the gateway must then refuse
all traffic. An expired partner configuration merely drops that partner from
:meth:`ConfigurationClient.current`.

HTTP goes through httpx with an explicit ``ssl.SSLContext`` (never the
environment's CA bundle variables). The directory's signature, not TLS, is what
makes the content trustworthy; TLS only adds confidentiality. A network attacker
replaying *valid* but older directories over plain HTTP is stopped by the
high-water mark (step 2), not by TLS.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import ssl
import threading
import urllib.parse
from typing import Any, Callable

import httpx

from ._config import (
    DEFAULT_INTERVAL_SECONDS, AllowedFederations, ClientConfig, ConfRolledBack, InstanceOutcome, RefreshReport,
)
from ._store import (
    raise_high_water, read_high_water, read_metadata, read_part, read_status, remove_instance, stored_instances,
    stored_parts_by_location, store_configuration, write_status,
)
from federation.conftree import CurrentConfiguration, load_tree
from trust.infra import utc_now
from federation.directory import VerifiedConfiguration, parse_directory, verify_directory
from federation.model import ConfigurationAnchor, PrivateParameters
from federation.model import ConfDownloadFailed, ConfError, ConfMissingPart, ConfOutdated, ConfTreeInvalid
from federation.model import parse_private_parameters

log = logging.getLogger("sild.federation.client")


def _aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetimes are refused; pass an aware moment")


class ConfigurationClient:
    """Downloads, verifies and stores global configuration; see the module docstring."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._transport = transport
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._ssl_context: ssl.SSLContext | None = None

    # -- HTTP ------------------------------------------------------------------
    def _http(self) -> httpx.Client:
        if self._ssl_context is None:
            # built once: loading the system CA bundle costs tens of milliseconds
            self._ssl_context = self.config.ssl_context or ssl.create_default_context()
        verify: ssl.SSLContext = self._ssl_context
        return httpx.Client(
            verify=verify,
            timeout=self.config.timeout_seconds,
            transport=self._transport,
            trust_env=False,
            follow_redirects=False,
        )

    def _get(self, http: httpx.Client, url: str) -> tuple[int, bytes]:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                return response.status_code, b""
            chunks = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.config.max_bytes:
                    raise ConfDownloadFailed(f"{url} sent more than {self.config.max_bytes} bytes")
                chunks.append(chunk)
            return 200, b"".join(chunks)

    def _ordered_sources(self, anchor: ConfigurationAnchor) -> list[str]:
        urls = [s.download_url for s in anchor.sources]
        self._rng.shuffle(urls)
        return sorted(urls, key=lambda u: 0 if u.lower().startswith("https://") else 1)  # stable: HTTPS first

    def download(self, anchor: ConfigurationAnchor, at: dt.datetime, *, stored_instance: str | None = None,
                 not_before: dt.datetime | None = None) -> tuple[VerifiedConfiguration, str]:
        """Download and verify the configuration an anchor points at; return it and its URL.

        ``not_before``: refuse a directory expiring earlier (the high-water mark).
        Raises the most specific :class:`ConfError` seen when no source succeeds.
        """
        _aware(at)
        cached = stored_parts_by_location(self.config.directory, stored_instance) if stored_instance else {}
        failures: list[tuple[str, ConfError]] = []
        with self._http() as http:
            for base in self._ordered_sources(anchor):
                for version in self.config.versions:
                    url = _with_version(base, version)
                    try:
                        status, body = self._get(http, url)
                    except (httpx.HTTPError, httpx.InvalidURL) as exc:
                        failures.append((url, ConfDownloadFailed(f"{url}: {type(exc).__name__}: {exc}")))
                        break
                    except ConfError as exc:
                        failures.append((url, exc))
                        break
                    if status == 404:
                        continue
                    if status != 200:
                        failures.append((url, ConfDownloadFailed(f"{url} answered HTTP {status}")))
                        break
                    try:
                        verified = self._verify(http, anchor, body, url, at, cached)
                        _not_rolled_back(verified, not_before)
                    except ConfError as exc:
                        failures.append((url, exc))
                        break
                    return verified, url
                else:
                    failures.append((base, ConfDownloadFailed(f"{base} publishes none of versions {self.config.versions}")))
        if not failures:
            raise ConfDownloadFailed(f"anchor of {anchor.instance} lists no source")
        # prefer a verification error (tampering, expiry) over plain unreachability
        for _, error in failures:
            if not isinstance(error, ConfDownloadFailed):
                raise type(error)(f"{error} (from {_describe(failures)})")
        raise ConfDownloadFailed("; ".join(str(e) for _, e in failures))

    def _verify(
        self, http: httpx.Client, anchor: ConfigurationAnchor, body: bytes, url: str, at: dt.datetime, cached: dict[str, bytes]
    ) -> VerifiedConfiguration:
        directory = parse_directory(body)
        reuse = {}
        for entry in directory.parts:
            old = cached.get(entry.location)
            if old is not None and entry.hash_algorithm.digest(old) == entry.digest:
                reuse[entry.location] = old  # unchanged: no download

        def fetch(location: str) -> bytes:
            target = _resolve_same_origin(url, location)
            try:
                status, data = self._get(http, target)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise ConfMissingPart(f"cannot download {target}: {type(exc).__name__}") from exc
            if status != 200:
                raise ConfMissingPart(f"{target} answered HTTP {status}")
            return data

        return verify_directory(body, anchor, at=at, fetch_part=fetch, parts=reuse, instance=anchor.instance)

    # -- refresh -----------------------------------------------------------------
    def refresh(self, at: dt.datetime) -> RefreshReport:
        """One round: own instance, then allowed partners. Never raises for a bad download."""
        _aware(at)
        with self._lock:
            outcomes = [self._refresh_one(self.config.anchor, at, kind="internal")]
            removed: list[str] = []
            private = self._own_private()
            wanted: dict[str, ConfigurationAnchor] = {}
            if private is not None:
                for anchor in private.anchors:
                    if anchor.instance == self.config.anchor.instance:
                        continue
                    if self.config.allowed_federations.allows(anchor.instance):
                        wanted[anchor.instance] = anchor
            for instance, anchor in sorted(wanted.items()):
                outcomes.append(self._refresh_one(anchor, at, kind="external"))
            for instance in stored_instances(self.config.directory):
                if instance != self.config.anchor.instance and instance not in wanted:
                    remove_instance(self.config.directory, instance)
                    removed.append(instance)
            status = read_status(self.config.directory)
            for outcome in outcomes:
                status[outcome.instance] = _status_entry(outcome, at, status.get(outcome.instance))
            for instance in removed:
                status.pop(instance, None)
            write_status(self.config.directory, status)
            return RefreshReport(at, tuple(outcomes), tuple(removed))

    def _refresh_one(self, anchor: ConfigurationAnchor, at: dt.datetime, *, kind: str) -> InstanceOutcome:
        previous = None
        try:
            previous = read_metadata(self.config.directory, anchor.instance)
        except ConfTreeInvalid:
            previous = None
        mark = self._high_water(anchor.instance, previous.expires_at if previous else None)
        try:
            verified, url = self.download(anchor, at, stored_instance=anchor.instance if previous else None,
                                          not_before=mark)
            try:
                store_configuration(self.config.directory, verified, kind=kind, source_url=url, downloaded_at=at)
                raise_high_water(self.config.directory, anchor.instance, verified.expires_at)
            except OSError as exc:
                raise ConfError(f"cannot store configuration of {anchor.instance}: {exc}", code="federation.conf.store_failed") from exc
        except ConfError as exc:
            if isinstance(exc, ConfRolledBack):
                log.warning("configuration of %s: older directory refused, the stored copy stays: %s", anchor.instance, exc)
            return InstanceOutcome(
                anchor.instance,
                ok=False,
                kind=kind,
                code=exc.code,
                message=str(exc),
                expires_at=previous.expires_at if previous else None,
                kept_previous=previous is not None,
            )
        return InstanceOutcome(anchor.instance, ok=True, kind=kind, source_url=url, expires_at=verified.expires_at)

    def _high_water(self, instance: str, stored_expiry: dt.datetime | None) -> dt.datetime | None:
        """The newest expiry accepted for ``instance``: the mark on disk or the stored copy's, the later."""
        try:
            mark = read_high_water(self.config.directory).get(instance)
        except ConfTreeInvalid as exc:
            log.warning("high-water mark unreadable, comparing with the stored copy only: %s", exc)
            mark = None
        candidates = [m for m in (mark, stored_expiry) if m is not None]
        return max(candidates) if candidates else None

    def _own_private(self) -> PrivateParameters | None:
        try:
            data = read_part(self.config.directory, self.config.anchor.instance, "PRIVATE-PARAMETERS")
            metadata = read_metadata(self.config.directory, self.config.anchor.instance)
            if data is None or metadata is None:
                return None
            return parse_private_parameters(data, version=metadata.version)
        except ConfError:
            return None  # damaged own copy: no partners this round; the own refresh reports the problem

    # -- what the gateway asks ------------------------------------------------------
    def ensure_current(self, at: dt.datetime) -> None:
        """Raise :class:`ConfOutdated` unless the own instance has unexpired configuration."""
        _aware(at)
        own = self.config.anchor.instance
        try:
            metadata = read_metadata(self.config.directory, own)
        except ConfTreeInvalid as exc:
            raise ConfOutdated(f"stored configuration of {own} is damaged: {exc}") from exc
        if metadata is None:
            raise ConfOutdated(f"no global configuration of {own} has been downloaded yet")
        if at >= metadata.expires_at:
            raise ConfOutdated(f"global configuration of {own} expired at {metadata.expires_at.isoformat()}")

    def current(self, at: dt.datetime) -> CurrentConfiguration:
        """Own and partner parameters usable at ``at`` (raises :class:`ConfOutdated` for own expiry)."""
        self.ensure_current(at)
        tree = load_tree(self.config.directory)
        return tree.current(at)

    def status(self) -> dict[str, Any]:
        """The last attempt per instance, as recorded in ``status.json``."""
        return read_status(self.config.directory)


def _status_entry(outcome: InstanceOutcome, at: dt.datetime, previous: Any) -> dict[str, Any]:
    entry: dict[str, Any] = dict(previous) if isinstance(previous, dict) else {}
    entry["lastAttempt"] = at.astimezone(dt.timezone.utc).isoformat()
    entry["ok"] = outcome.ok
    entry["kind"] = outcome.kind
    if outcome.ok:
        entry["lastSuccess"] = entry["lastAttempt"]
        entry["sourceUrl"] = outcome.source_url
        entry.pop("error", None)
    else:
        entry["error"] = {"code": outcome.code, "message": outcome.message, "keptPrevious": outcome.kept_previous}
    if outcome.expires_at is not None:
        entry["expiresAt"] = outcome.expires_at.astimezone(dt.timezone.utc).isoformat()
    return entry


def _not_rolled_back(verified: VerifiedConfiguration, not_before: dt.datetime | None) -> None:
    if not_before is not None and verified.expires_at < not_before:
        raise ConfRolledBack(
            f"directory of {verified.instance} expires at {verified.expires_at.isoformat()}, before the newest one "
            f"accepted ({not_before.isoformat()}): older configuration is never taken back")


def _with_version(url: str, version: int) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k != "version"] + [("version", str(version))]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _resolve_same_origin(base: str, location: str) -> str:
    target = urllib.parse.urljoin(base, location)
    b, t = urllib.parse.urlsplit(base), urllib.parse.urlsplit(target)
    if (b.scheme, b.netloc) != (t.scheme, t.netloc):
        raise ConfMissingPart(f"part location {location!r} leaves the origin of {base}")
    return target


def _describe(failures: list[tuple[str, ConfError]]) -> str:
    return ", ".join(f"{url}: {error.code}" for url, error in failures)


def schedule_refresh(
    scheduler: Any,
    client: ConfigurationClient,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
    job_id: str = "sild-configuration-refresh",
    on_report: Callable[[RefreshReport], None] | None = None,
) -> Any:
    """Add the periodic refresh to the caller's APScheduler scheduler; return the job.

    ``clock`` gives the moment of each run (default: the UTC wall clock, read only
    here at the process edge). One run at a time (``max_instances=1``), missed runs
    coalesced, first run immediately.
    """
    now = clock or utc_now

    def run() -> RefreshReport:
        report = client.refresh(now())
        if on_report is not None:
            on_report(report)
        return report

    return scheduler.add_job(
        run,
        "interval",
        seconds=interval_seconds,
        id=job_id,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        # the first run is due now by the scheduler's (wall) clock, whatever ``clock`` says
        next_run_time=utc_now(),
        misfire_grace_time=max(1, interval_seconds // 2),
    )


__all__ = [
    "AllowedFederations",
    "ClientConfig",
    "ConfigurationClient",
    "CurrentConfiguration",
    "InstanceOutcome",
    "RefreshReport",
    "schedule_refresh",
]
