"""The gateway's view of its downloaded global configuration, cheap to ask per message.

``federation.client._client.ConfigurationClient`` downloads, verifies and stores the own
instance's ``internalconf`` and the ``externalconf`` of allowed federated instances
(``allowed_federations`` of ``gateway.json``). Reading that tree from disk per
message would cost more than the exchange, so :class:`ConfStore` keeps the parsed
shared parameters in memory and swaps the whole mapping after each refresh; the
proxies read it without locks. The own instance's entry stays in the mapping after
it expires, so the proxies can refuse traffic with ``global_conf_outdated``; an
expired partner disappears from routing by its own expiry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import os
import threading
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping

from federation.anchor import load_anchor
from federation.client import AllowedFederations, ClientConfig, ConfigurationClient
from federation.conftree import load_tree
from federation.errors import FederationError

from ._history import ConfHistory
from ._view import InstanceConf
from gateway.settings import NodeSettings

log = logging.getLogger("sild.gateway.conf")

FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.timezone.utc)


class ConfStore:
    """Downloads on :meth:`refresh`; answers :meth:`current` from memory."""

    def __init__(self, directory: Path, settings: NodeSettings, *,
                 clock: Callable[[], dt.datetime], client: ConfigurationClient | None = None) -> None:
        self.directory = Path(directory)
        self.settings = settings
        self.clock = clock
        anchor = load_anchor(self.directory / "anchor.xml")
        self.anchor = anchor
        self.client = client or ConfigurationClient(ClientConfig(
            anchor=anchor.anchor, directory=self.directory / "conf",
            allowed_federations=AllowedFederations.parse(list(settings.allowed_federations) or None)))
        self._current: dict[str, InstanceConf] = {}
        self.last_report: Any = None
        self._anchor_stamp = _file_stamp(self.directory / "anchor.xml")
        self._lock = threading.Lock()  # a download and a swap of anchor or federations never interleave
        self._loaded_stamp = self._stamp()
        self._load()

    def current(self) -> Mapping[str, InstanceConf]:
        return self._current

    def _load(self) -> None:
        conf_dir = self.directory / "conf"
        if not (conf_dir / "instance-identifier").is_file():
            return  # nothing downloaded yet (the client writes it with the first own configuration)
        try:
            tree = load_tree(conf_dir)
        except FederationError as exc:
            log.warning("stored configuration unreadable: %s", exc)
            return
        fresh: dict[str, InstanceConf] = {}
        for inst, conf in tree.instances.items():
            if inst != self.settings.instance and not self.settings.federation_allowed(inst):
                continue
            shared = conf.shared
            before = self._current.get(inst)
            if before is not None and before.shared == shared:
                # unchanged content keeps its object: what is derived from a configuration
                # (trust policies, lookup indexes, validation results) is keyed by it
                shared = before.shared
            fresh[inst] = InstanceConf(shared, conf.expires_at or FAR_FUTURE)
        self._current = fresh

    def reload(self) -> bool:
        """Read the stored configuration again if a download changed it (worker processes).

        A gateway's worker processes never download: the main process does and
        stores what it verified; the workers pick it up from the directory. The
        check is a walk of ``conf/`` comparing names, sizes and modification times, so
        polling it every few seconds costs a few dozen ``stat`` calls. True when read.
        """
        stamp = self._stamp()
        if stamp == self._loaded_stamp:
            return False
        self._load()
        self._loaded_stamp = stamp
        return True

    def _stamp(self) -> tuple[tuple[str, int, int], ...]:
        conf_dir = self.directory / "conf"
        found: list[tuple[str, int, int]] = []
        for base, dirs, files in os.walk(conf_dir):
            for name in (*dirs, *files):
                path = os.path.join(base, name)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:  # replaced by a download while walking: seen next time
                    continue
                found.append((os.path.relpath(path, conf_dir), st.st_mtime_ns, st.st_size))
        return tuple(sorted(found))

    def follow(self, settings: NodeSettings) -> bool:
        """Take a new ``anchor.xml`` or changed ``allowed_federations`` into use, without a restart.

        Why: the anchor and the allowed federations decide what the configuration client
        downloads and which instances the proxies see; an operator changes them with
        ``sild gateway anchor install`` or by editing ``gateway.json``, and a gateway that
        ignored the change until a restart kept routing by the old set (issue 17). The
        check is one ``stat``; the client's parameters are swapped between downloads and
        the stored configuration is filtered again. True when something changed: the
        main process then downloads at once. An unreadable new anchor is logged and the
        one in use stays (``anchor install`` verifies before it writes).
        """
        stamp = _file_stamp(self.directory / "anchor.xml")
        anchor_changed = stamp != self._anchor_stamp
        federations_changed = settings.allowed_federations != self.settings.allowed_federations
        if not anchor_changed and not federations_changed:
            self.settings = settings
            return False
        with self._lock:
            config = self.client.config
            if anchor_changed:
                self._anchor_stamp = stamp
                try:
                    anchor = load_anchor(self.directory / "anchor.xml")
                except FederationError as exc:
                    log.warning("new anchor.xml not taken into use: %s", exc)
                    anchor = self.anchor
                if anchor.raw != self.anchor.raw:
                    log.info("configuration anchor changed (SHA-224 %s); downloading with it", anchor.fingerprint)
                self.anchor = anchor
                config = dataclasses.replace(config, anchor=anchor.anchor)
            if federations_changed:
                log.info("allowed federations changed to %s", ",".join(settings.allowed_federations) or "none")
                config = dataclasses.replace(config, allowed_federations=AllowedFederations.parse(
                    list(settings.allowed_federations) or None))
            self.client.config = config
            self.settings = settings
            self._load()
        return True

    def refresh(self) -> Any:
        """One download round; the stored copy stays in use when it fails."""
        with self._lock:
            report = self.client.refresh(self.clock())
        self.last_report = report
        if not report.ok:
            for outcome in report.outcomes:
                if not outcome.ok:
                    log.warning("configuration of %s: %s %s", outcome.instance, outcome.code, outcome.message)
        self._load()
        if any(outcome.ok for outcome in report.outcomes):
            # what was verified and used is kept for evidence (gateway.conf._history): one
            # stat-and-compare per instance unless the configuration changed
            ConfHistory(self.directory).record(self.clock())
        return report

    def status(self) -> dict[str, Any]:
        return dict(self.client.status())

    def verificationconf_zip(self) -> bytes:
        """The verification configuration as a zip, laid out as X-Road's ``/verificationconf``.

        ``verificationconf/instance-identifier`` and one folder per instance named by its
        code with the *current* stored shared parameters (and their metadata): enough
        to verify signatures and evidence offline (``sild asic verify --conf``). Private
        parameters and the client's own bookkeeping (earlier generations, status) stay out.
        """
        buf = io.BytesIO()
        root = self.directory / "conf"
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for entry in sorted(root.iterdir()):
                if entry.name.startswith("."):
                    continue  # generation folders; the instance links point at the current one
                if entry.is_file() and entry.name == "instance-identifier":
                    zf.write(entry, "verificationconf/instance-identifier")
                elif entry.is_dir():
                    for path in sorted(entry.iterdir()):
                        if path.is_file() and "private" not in path.name.lower():
                            zf.write(path, f"verificationconf/{entry.name}/{path.name}")
        return buf.getvalue()


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells a replaced file from the one read: inode, modification time, size (None: absent)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
