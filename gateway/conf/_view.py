"""Finding the provider's gateway: the verified configuration, then the fastest that answers.

A consumer gateway looks the provider (member or subsystem) up in the verified shared
parameters of its own instance or of a federated instance it is allowed to use, and
takes the gateways listing that provider as a client, skipping those in maintenance
mode (NOTES.md section 7). When several remain, X-Road connects to all at once and
uses the first that accepts the TCP connection; :class:`Router` does the same and
remembers the winner for a short while so that the race is not run per message.

:class:`SharedParamsView` is the :class:`~gateway.proxy._context.GlobalConfView` over
``federation.model._model.SharedParameters`` values (one per instance, each with its
expiry): the configuration client keeps those current, the proxies ask it questions.
The own instance's expiry stops all traffic (``global_conf_outdated``); an expired
federated instance simply disappears (NOTES.md section 5).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping

from cryptography.hazmat.primitives.serialization import Encoding

from federation.model import SharedParameters, load_certificate
from trust.protocol import ClientId, GlobalGroupId, MemberId, SecurityServerId

from ._index import ConfIndex, ConfIndexes
from ._entries import ClientListing, ServerEntry
from trust.protocol import XRoadFault

DEFAULT_PEER_PORT = 5500


def split_address(address: str, default_port: int = DEFAULT_PEER_PORT) -> tuple[str, int]:
    """``host`` or ``host:port`` (sandboxes put several gateways on one host)."""
    host, sep, port = address.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host.strip("[]"), int(port)
    return address, default_port


@dataclass(frozen=True)
class InstanceConf:
    shared: SharedParameters
    expires_at: dt.datetime


class SharedParamsView:
    """Answers the proxies' questions from verified shared parameters.

    ``source`` returns the current mapping instance -> :class:`InstanceConf`; it is
    called per question, so a configuration download that swaps the mapping takes
    effect at once without locks on the hot path.
    """

    def __init__(self, own_instance: str, source: Callable[[], Mapping[str, InstanceConf]]) -> None:
        self.own_instance = own_instance
        self._source = source
        self._ca_cache: tuple[int, bytes] | None = None
        self._indexes = ConfIndexes()

    def _valid(self, at: dt.datetime) -> dict[str, SharedParameters]:
        out = {}
        for inst, conf in self._source().items():
            if conf.expires_at > at:
                out[inst] = conf.shared
        return out

    def check_valid(self, at: dt.datetime) -> None:
        conf = self._source().get(self.own_instance)
        if conf is None or conf.expires_at <= at:
            raise XRoadFault("global_conf_outdated",
                             f"global configuration of {self.own_instance} is expired or missing")

    def instances(self, at: dt.datetime) -> list[str]:
        valid = self._valid(at)
        rest = sorted(i for i in valid if i != self.own_instance)
        return ([self.own_instance] if self.own_instance in valid else []) + rest

    def _shared(self, instance: str, at: dt.datetime) -> SharedParameters | None:
        conf = self._source().get(instance)
        return conf.shared if conf is not None and conf.expires_at > at else None

    def _index(self, instance: str, at: dt.datetime) -> ConfIndex | None:
        shared = self._shared(instance, at)
        return self._indexes.of(shared) if shared is not None else None

    def servers_serving(self, client: ClientId, at: dt.datetime) -> list[ServerEntry]:
        index = self._index(client.instance, at)
        return list(index.servers_serving(client)) if index is not None else []

    def server_entry(self, server: SecurityServerId, at: dt.datetime) -> ServerEntry | None:
        index = self._index(server.instance, at)
        return index.entries.get(server) if index is not None else None

    def client_exists(self, client: ClientId, at: dt.datetime) -> bool:
        index = self._index(client.instance, at)
        return index is not None and client in index.client_ids

    def server_with_auth_cert(self, cert_sha256: bytes, at: dt.datetime) -> ServerEntry | None:
        for shared in self._valid(at).values():
            entry = self._indexes.of(shared).by_auth_hash.get(cert_sha256)
            if entry is not None:
                return entry
        return None

    def is_client_of(self, server: SecurityServerId, client: ClientId, at: dt.datetime) -> bool:
        index = self._index(server.instance, at)
        return index is not None and index.is_client_of(server, client)

    def global_groups_of(self, client: ClientId, at: dt.datetime) -> frozenset[GlobalGroupId]:
        out: frozenset[GlobalGroupId] = frozenset()
        for shared in self._valid(at).values():
            out |= self._indexes.of(shared).groups_of(client)
        return out

    def list_clients(self, instance: str, at: dt.datetime) -> list[ClientListing]:
        shared = self._shared(instance, at)
        if shared is None:
            return []
        return [ClientListing(c, name, sub) for c, name, sub in shared.clients()]

    def ca_certs_pem(self, at: dt.datetime) -> bytes:
        confs = self._source()
        key = hash(tuple(sorted((i, id(c.shared)) for i, c in confs.items())))
        if self._ca_cache is not None and self._ca_cache[0] == key:
            return self._ca_cache[1]
        pems = []
        for conf in confs.values():
            for ca in conf.shared.approved_cas:
                for info in (ca.top_ca, *ca.intermediate_cas):
                    pems.append(load_certificate(info.cert).public_bytes(Encoding.PEM))
        data = b"".join(pems)
        self._ca_cache = (key, data)
        return data

    def member_name(self, member: MemberId, at: dt.datetime) -> str | None:
        index = self._index(member.instance, at)
        return index.member_names.get(member) if index is not None else None


class Router:
    """Chooses the provider gateway: reachable, not in maintenance, fastest to connect."""

    def __init__(self, *, connect_timeout: float = 2.0, remember_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = connect_timeout
        self._remember = remember_seconds
        self._clock = clock
        self._winner: dict[frozenset[str], tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="route")

    def choose(self, candidates: list[ServerEntry], *, exclude: frozenset[str] = frozenset()) -> list[ServerEntry]:
        """Candidates in the order to try them; the remembered or fastest first."""
        live = [c for c in candidates if not c.in_maintenance and c.address and c.address not in exclude]
        if len(live) <= 1:
            return live
        key = frozenset(c.address for c in live)
        now = self._clock()
        with self._lock:
            hit = self._winner.get(key)
        if hit is None or now - hit[0] > self._remember:
            first = self._race(live)
            if first is None:
                return live
            with self._lock:
                self._winner[key] = (now, first)
            hit = (now, first)
        return sorted(live, key=lambda c: c.address != hit[1])

    def forget(self, address: str) -> None:
        """Drop remembered winners that named a gateway that then failed."""
        with self._lock:
            for key in [k for k, v in self._winner.items() if v[1] == address]:
                del self._winner[key]

    def _race(self, live: list[ServerEntry]) -> str | None:
        def probe(entry: ServerEntry) -> str:
            host, port = split_address(entry.address)
            with socket.create_connection((host, port), timeout=self._timeout):
                return entry.address

        futures = [self._pool.submit(probe, e) for e in live]
        try:
            for fut in concurrent.futures.as_completed(futures, timeout=self._timeout + 0.5):
                if fut.exception() is None:
                    return fut.result()
        except concurrent.futures.TimeoutError:
            return None
        return None

    def close(self) -> None:
        self._pool.shutdown(wait=False)
