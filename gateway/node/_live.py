"""Live changes: a running node follows its settings, anchor, keys and certificates without a restart.

Why: an operator changes a gateway while it serves (a partner instance allowed, the
authority's new anchor installed, a renewed sign key's certificate imported, a CA
withdrawn from the configuration). A node that read these once at start ignored
them silently until someone restarted it (issue 17: ``allowed_federations`` edits
did nothing), and a restart drops the connections in flight.

How: every :data:`LIVE_CHECK_SECONDS` the main process and each worker process look
at cheap fingerprints of what they read at start (one ``stat`` each: ``gateway.json``,
``anchor.xml``, the key registry ``keys/``, ``certs/``, the soft token) and rebuild
only what changed:

* settings: the live ones (``allowed_federations``, the job intervals,
  ``public_address``, ``registration``, the body-logging switches, ``timestamping_services``, and ``server``
  when only its owner changed:
  ``sild gateway owner apply``) are taken over; one that fixes what the
  process bound or opened at start (ports, listen addresses, worker count,
  databases) is logged as taking effect at the next restart
  (:func:`gateway.settings.restart_only`, which the CLI and the admin API use to warn too);
* anchor and allowed federations: :meth:`gateway.conf.ConfStore.follow` swaps the
  configuration client's parameters; the main process downloads at once;
* keys and certificates: the sign key of each member is chosen again
  (:func:`gateway.provision.signing_keys`: a renewed key whose certificate was
  imported signs the next message), and the auth key the registry picks
  (:func:`gateway.provision.auth_tls_key`: a renewed one once its certificate is
  imported and active, or a new ``certs/auth.pem``) goes into both TLS contexts;
* approved CAs: :meth:`~gateway.node._ports.NodePorts._reload_cas` builds a new
  mutual-TLS context when the set changed, removals included; the approved TSA:
  the timestamping job moves to a new one (``NodeJobs._follow_tsa``), both after
  each download.

In a cluster (the server configuration on PostgreSQL) the main process first
synchronises the cluster-wide files with the other nodes through that database
(:mod:`gateway.node._shared`): a certificate, an anchor or a setting changed on one
node is written into every node's directory and then taken into use by the checks
above.

Server-configuration rows (clients, services, rights) need nothing here: every
process's :meth:`gateway.serverconf.ServerConf.snapshot` checks the database's change
counter at most once a second. No state outside the node: the fingerprints live on it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from gateway.settings import SETTINGS_FILE, NodeSettings, restart_only

from ._jobs import NodeJobs

log = logging.getLogger("sild.gateway.node")

LIVE_CHECK_SECONDS = 2  # how soon a change made beside the running node takes effect

def _stamp(path: Path) -> tuple[Any, ...]:
    """A file's or a folder's fingerprint: its own and its entries' (inode, mtime, size); empty when absent."""
    found: list[tuple[Any, ...]] = []
    paths = [path]
    if path.is_dir():
        paths += sorted(path.iterdir())
    for p in paths:
        try:
            st = os.stat(p)
        except FileNotFoundError:
            continue
        found.append((p.name, st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(found)


class NodeLive(NodeJobs):
    """The part of :class:`~gateway.node.GatewayNode` that follows changes made beside it."""

    keys: Any
    sign_keys: dict[Any, Any]
    auth_chain: list[Any]
    auth_key_id: str
    _key: tuple[str, str, str]
    _own_certs: dict[str, Any]
    _live_stamps: dict[str, tuple[Any, ...]]

    def _watched(self) -> dict[str, Path]:
        d = self.directory
        return {"settings": d / SETTINGS_FILE, "keys": d / "keys", "certs": d / "certs", "token": d / "token",
                "sign-keys": d / "sign-keys.json"}

    def _start_following(self) -> None:
        """Take the fingerprints of what the node read at start (called once it is built)."""
        self._live_stamps = {name: _stamp(path) for name, path in self._watched().items()}

    def follow_changes(self) -> list[str]:
        """One check (a job every :data:`LIVE_CHECK_SECONDS`): apply what changed; the names of what did."""
        if not hasattr(self, "_live_stamps"):
            self._start_following()
        self._follow_cluster()
        changed = []
        for name, path in self._watched().items():
            stamp = _stamp(path)
            if stamp != self._live_stamps.get(name):
                self._live_stamps[name] = stamp
                changed.append(name)
        if "settings" in changed:
            self._follow_settings()
        if self._follow_conf():
            changed.append("configuration")
        if {"keys", "certs", "token", "sign-keys"} & set(changed) or getattr(self, "_keys_pending", False):
            self._follow_keys()
        return changed

    def _follow_cluster(self) -> None:
        """The main process of a cluster's node: take the other nodes' changes, publish its own (``._shared``)."""
        shared = getattr(self, "shared", None)
        if shared is None or not self._is_main_process():
            return
        try:
            shared.sync()  # what it writes is taken into use below, as any change made beside the node
        except Exception as exc:  # noqa: BLE001 - the database may be away for a moment: the next round tries again
            log.warning("the cluster's shared files were not synchronised: %s", exc)

    def _follow_settings(self) -> None:
        before = self.settings
        try:
            after = NodeSettings.load(self.directory)
        except Exception as exc:  # noqa: BLE001 - a half-edited file: keep serving with what is in use
            log.warning("%s not taken into use: %s", SETTINGS_FILE, exc)
            return
        for name in restart_only(before, after):
            log.warning("setting %s changed (%r -> %r): takes effect at the next restart", name,
                        getattr(before, name), getattr(after, name))
        kept = restart_only(before, after)
        live = dataclasses.replace(after, **{name: getattr(before, name) for name in kept})
        self.settings = live
        self._reschedule(before, live)
        if live.server != before.server:
            self._follow_owner(live)
        body = ("message_body_logging", "message_body_logging_remote_overrides")
        if any(getattr(before, name) != getattr(live, name) for name in body):
            self._follow_body_logging(live)
        if before.timestamping_services != live.timestamping_services:
            self._follow_tsa()  # the timestamping job asks the newly chosen TSAs from its next run

    def _follow_body_logging(self, settings: NodeSettings) -> None:
        """The global body-logging switch and the remote list: the message log's next record follows them.

        The message log reads its configuration at every append; the per-subsystem
        overrides were live already (read from the server configuration's snapshot).
        """
        from ._node import _messagelog_config

        log_ = getattr(self, "messagelog", None)
        if log_ is None:
            return
        fresh = _messagelog_config(settings, self.serverconf)
        log_.config = dataclasses.replace(log_.config, body_logging=fresh.body_logging, body_policy=fresh.body_policy)
        log.info("message body logging now %s", "on" if settings.message_body_logging else "off")

    def _follow_owner(self, settings: NodeSettings) -> None:
        """Serve as the new owner that ``sild gateway owner apply`` wrote (an approved owner change).

        The same gateway (instance, server code, auth certificate, ports) under another
        owner: the proxies' identity, the op-monitoring services' owner and the server
        configuration's identity (owner-only services) follow; the sign keys are chosen
        again from ``sign-keys.json``, which the command rewrote, so the new owner signs
        with the key ``add-member`` made for it.
        """
        server = settings.server_id
        self.server_id = server
        parts = getattr(self, "parts", None)
        if parts is not None:
            parts.server_id = server  # the proxies hold this very object
            service = parts.extra.get("opmonitoring")
            if service is not None:
                service.owner = server.owner
        if self._is_main_process():
            self.serverconf.set_identity(server)  # the workers see it through the change counter
        self._keys_pending = True  # the sign keys are chosen again in this same check
        log.info("this gateway now serves as %s (owner change)", server.to_text())

    def _reschedule(self, before: NodeSettings, after: NodeSettings) -> None:
        sched = self._scheduler
        if sched is None:
            return
        jobs = (("conf-download", "conf_interval_seconds", after.conf_interval_seconds),
                ("ocsp-refresh", "ocsp_interval_seconds", min(30, after.ocsp_interval_seconds)),  # as _start_jobs
                ("messagelog-timestamping", "timestamp_interval_seconds", after.timestamp_interval_seconds))
        for job, name, seconds in jobs:
            if getattr(before, name) != getattr(after, name) and sched.get_job(job) is not None:
                sched.reschedule_job(job, trigger="interval", seconds=seconds)
                log.info("%s now every %d s", job, seconds)

    def _follow_conf(self) -> bool:
        """A new anchor or allowed federations: the main process downloads at once; a worker filters again."""
        store = self.conf_store
        if store is None or not hasattr(store, "follow") or not store.follow(self.settings):
            return False
        if self._is_main_process():
            try:
                self.refresh_conf()
            except Exception as exc:  # noqa: BLE001 - the scheduled download tries again
                log.warning("configuration download after a change failed: %s", exc)
        else:
            self._reload_cas()
        return True

    def _is_main_process(self) -> bool:
        return not getattr(self, "_is_worker", False)

    def _follow_keys(self) -> None:
        """Choose each member's sign key and the auth key again; a new auth key or certificate goes into TLS.

        A member switches to a new sign key, and TLS to a new auth key, only once this
        process holds an OCSP response for its certificate: peers refuse a signature or
        a TLS client without one. The main process fetches it at once; a worker reads what
        the main process stored and, until it is there, keeps the key in use (checked
        again every round).
        """
        from gateway.provision import auth_tls_key, signing_keys
        from gateway.signing import SignKey

        try:
            chosen = {member: SignKey(key_id, tuple(chain))
                      for member, (key_id, chain) in signing_keys(self.directory, self.keys).items()}
        except Exception as exc:  # noqa: BLE001 - e.g. a certificate half-imported: keep the keys in use
            log.warning("keys or certificates not taken into use: %s", exc)
            return
        try:
            auth_id, auth_chain, auth_files = auth_tls_key(self.directory, self.keys)
        except Exception as exc:  # noqa: BLE001 - e.g. an auth key in a PKCS#11 token: TLS keeps the one in use
            log.warning("auth key not taken into use for TLS: %s", exc)
            auth_id, auth_chain, auth_files = self.auth_key_id, self.auth_chain, self._key
        in_use = {self.auth_key_id: self.auth_chain[0], **{k.key_id: k.chain[0] for k in self.sign_keys.values()}}
        self._own_certs_are({**in_use, auth_id: auth_chain[0], **{k.key_id: k.chain[0] for k in chosen.values()}})
        if not self._is_main_process() and getattr(self, "_keys_pending", False):
            self.own_ocsp.reload()  # the main process may have stored the response since the last round
        ready = {member: key if key == self.sign_keys.get(member) or self.own_ocsp.for_key(key.key_id)
                 or member not in self.sign_keys else self.sign_keys[member] for member, key in chosen.items()}
        # a new auth key likewise: peers check the OCSP response of the certificate it presents
        auth_ready = auth_id == self.auth_key_id or bool(self.own_ocsp.for_key(auth_id))
        self._keys_pending = ready != chosen or not auth_ready
        if ready != self.sign_keys:
            # the signing part holds this very dict: changed in place
            self.sign_keys.clear()
            self.sign_keys.update(ready)
            log.info("sign keys now %s", ", ".join(f"{m.to_text()}: {k.key_id}" for m, k in ready.items()))
        if not self._keys_pending:  # the replaced keys' certificates need no more OCSP responses
            self._own_certs_are({auth_id: auth_chain[0], **{k.key_id: k.chain[0] for k in ready.values()}})
        if auth_ready and (auth_chain[0] != self.auth_chain[0] or auth_files != self._key):
            self.auth_key_id, self.auth_chain, self._key = auth_id, auth_chain, auth_files
            self.own_ocsp.auth_key = auth_id  # the responses sent with every request to a peer
            self._reload_own_tls()
            log.info("mutual TLS now served with auth key %s", auth_id)

    def _own_certs_are(self, certs: dict[str, Any]) -> None:
        """The certificates whose OCSP responses this node keeps (the OCSP store holds this very dict)."""
        if certs == self._own_certs:
            return
        self._own_certs.clear()
        self._own_certs.update(certs)
        if self._is_main_process():
            self.refresh_ocsp()  # a new certificate needs its OCSP response before peers accept it
        else:
            self.own_ocsp.reload()
