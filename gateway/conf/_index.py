"""Lookup tables over one instance's shared parameters, built once per configuration.

Every exchange asks the global configuration the same questions: which gateways
serve this client, which gateway owns this TLS certificate, is this client served by
that gateway, which global groups hold this client. The shared parameters answer
them by scanning tuples, which is fine for the sandbox's four gateways and ruinous
for a national instance (thousands of gateways and members, each message scanning
all of them on both sides). :class:`SharedParameters` is immutable, so the answers
are indexed once when a new configuration arrives and read in O(1) afterwards;
:class:`ConfIndexes` keeps one index per instance and rebuilds it when the
configuration object changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from federation.model import SecurityServer, SharedParameters
from trust.protocol import ClientId, GlobalGroupId, MemberId, SecurityServerId, SubsystemId

from ._entries import ServerEntry


def server_entry(shared: SharedParameters, server: SecurityServer) -> ServerEntry:
    """The proxies' view of a gateway (version 2 files carry SHA-1 hashes: not usable)."""
    hashes = frozenset(server.auth_cert_hashes) if shared.version > 2 else frozenset()
    return ServerEntry(server.server_id, server.address or "", hashes, server.in_maintenance,
                       (server.maintenance.message or "") if server.maintenance else "")


@dataclass(frozen=True)
class ConfIndex:
    """The questions of the hot path, answered from dictionaries."""

    shared: SharedParameters
    entries: dict[SecurityServerId, ServerEntry]
    by_auth_hash: dict[bytes, ServerEntry]
    serving: dict[ClientId, tuple[ServerEntry, ...]]  # gateways listing the client (or owned by it)
    groups: dict[ClientId, frozenset[GlobalGroupId]]  # direct memberships
    member_names: dict[MemberId, str]
    client_ids: frozenset[ClientId]

    @classmethod
    def build(cls, shared: SharedParameters) -> "ConfIndex":
        entries: dict[SecurityServerId, ServerEntry] = {}
        by_hash: dict[bytes, ServerEntry] = {}
        serving: dict[ClientId, list[ServerEntry]] = {}
        for server in shared.security_servers:
            entry = server_entry(shared, server)
            entries.setdefault(entry.server_id, entry)
            for digest in entry.auth_cert_hashes:
                by_hash.setdefault(digest, entry)
            for client in dict.fromkeys((*server.clients, server.owner)):
                serving.setdefault(client, []).append(entry)
        groups: dict[ClientId, set[GlobalGroupId]] = {}
        for group in shared.global_groups:
            gid = group.group_id(shared.instance)
            for member in group.members:
                groups.setdefault(member, set()).add(gid)
        names = {m.member_id(shared.instance): m.name for m in shared.members}
        return cls(shared, entries, by_hash, {k: tuple(v) for k, v in serving.items()},
                   {k: frozenset(v) for k, v in groups.items()}, names, shared.client_ids())

    def servers_serving(self, client: ClientId) -> tuple[ServerEntry, ...]:
        """Gateways with an address that list ``client``, in the configuration's order."""
        return tuple(e for e in self.serving.get(client, ()) if e.address)

    def is_client_of(self, server: SecurityServerId, client: ClientId) -> bool:
        return any(e.server_id == server for e in self.serving.get(client, ()))

    def groups_of(self, client: ClientId) -> frozenset[GlobalGroupId]:
        """Groups holding the client, or (for a subsystem) its member."""
        direct = self.groups.get(client, frozenset())
        if isinstance(client, SubsystemId):
            return direct | self.groups.get(client.member, frozenset())
        return direct


class ConfIndexes:
    """One :class:`ConfIndex` per instance, rebuilt when that instance's configuration changes."""

    def __init__(self) -> None:
        self._indexes: dict[str, ConfIndex] = {}
        self._lock = threading.Lock()

    def of(self, shared: SharedParameters) -> ConfIndex:
        index = self._indexes.get(shared.instance)
        if index is not None and index.shared is shared:
            return index
        built = ConfIndex.build(shared)  # outside the lock: a race only builds twice
        with self._lock:
            self._indexes[shared.instance] = built
        return built
