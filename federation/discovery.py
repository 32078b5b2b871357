"""Who is who across instances: clients and the gateways that serve them.

Built only from *verified* configuration (a :class:`VerifiedConfiguration`, the
client's :class:`CurrentConfiguration` or a loaded :class:`ConfigurationTree`),
never from unverified files. Answers the questions of X-Road's ``listClients``
metaservice (members and subsystems with their names, for the own instance or a
federated one: ``xRoadInstance=B``) and of the client proxy's routing (which
gateways serve a client: address, auth-certificate hashes, maintenance mode).

Services are not part of global configuration: ``listMethods`` is answered by the
provider's gateway, not from here.

Use::

    discovery = Discovery.from_current(client.current(at))
    discovery.list_clients()                  # own instance
    discovery.list_clients("FI")              # a federated instance
    discovery.gateways_for(SubsystemId("EE", "GOV", "70000001", "tax"))
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping

from trust.protocol import ClientId, GlobalGroupId, MemberId, SecurityServerId, SubsystemId

from federation.conftree import ConfigurationTree, CurrentConfiguration
from federation.directory import VerifiedConfiguration
from federation.model import SecurityServer, SharedParameters
from federation.model import ConfError


class UnknownInstance(ConfError):
    """The instance is neither the own one nor a federated one with current configuration."""

    code = "federation.discovery.unknown_instance"


@dataclass(frozen=True)
class ClientInfo:
    client: ClientId
    member_name: str
    subsystem_name: str | None = None

    @property
    def is_subsystem(self) -> bool:
        return isinstance(self.client, SubsystemId)


@dataclass(frozen=True)
class GatewayInfo:
    server: SecurityServerId
    address: str | None
    auth_cert_hashes: tuple[bytes, ...]
    in_maintenance: bool = False
    maintenance_message: str | None = None


class Discovery:
    """Read-only lookups over the shared parameters of the own and federated instances."""

    def __init__(self, own_instance: str, shared: Mapping[str, SharedParameters]) -> None:
        if own_instance not in shared:
            raise UnknownInstance(f"no shared parameters of the own instance {own_instance}")
        for instance, params in shared.items():
            if params.instance != instance:
                raise ConfError(f"shared parameters filed under {instance} belong to {params.instance}")
        self.own_instance = own_instance
        self._shared = dict(shared)

    @classmethod
    def from_verified(cls, own: VerifiedConfiguration, partners: Iterable[VerifiedConfiguration] = ()) -> "Discovery":
        shared: dict[str, SharedParameters] = {}
        for conf in (own, *partners):
            params = conf.shared_parameters
            if params is None:
                raise ConfError(f"verified configuration of {conf.instance} has no shared parameters")
            shared[conf.instance] = params
        return cls(own.instance, shared)

    @classmethod
    def from_current(cls, current: CurrentConfiguration) -> "Discovery":
        """From :meth:`federation.client._client.ConfigurationClient.current` (expired partners already dropped)."""
        return cls(current.instance, current.shared)

    @classmethod
    def from_tree(cls, tree: ConfigurationTree, at: dt.datetime) -> "Discovery":
        """From :func:`federation.conftree.load_tree` at a moment (expired partners dropped)."""
        return cls.from_current(tree.current(at))

    # -- instances and clients ------------------------------------------------------
    def instances(self) -> list[str]:
        """The own instance first, then federated ones alphabetically."""
        return [self.own_instance] + sorted(i for i in self._shared if i != self.own_instance)

    def shared(self, instance: str | None = None) -> SharedParameters:
        key = instance or self.own_instance
        try:
            return self._shared[key]
        except KeyError:
            raise UnknownInstance(f"instance {key!r} is not known (not federated, not allowed, or expired)") from None

    def list_clients(self, instance: str | None = None) -> list[ClientInfo]:
        """Members and subsystems of an instance (default: own), in registry order."""
        return [ClientInfo(cid, member_name, sub_name) for cid, member_name, sub_name in self.shared(instance).clients()]

    def is_registered(self, client: ClientId) -> bool:
        if client.instance not in self._shared:
            return False
        return client in self._shared[client.instance].client_ids()

    def member_name(self, member: MemberId) -> str | None:
        if member.instance not in self._shared:
            return None
        return self._shared[member.instance].member_name(member)

    # -- gateways ------------------------------------------------------------------------
    def gateways_for(self, client: ClientId, *, include_maintenance: bool = True) -> list[GatewayInfo]:
        """Gateways serving ``client`` (its own instance's registry decides)."""
        params = self.shared(client.instance)
        result = []
        for server in params.servers_of(client):
            info = _gateway(server, params.instance)
            if info.in_maintenance and not include_maintenance:
                continue
            result.append(info)
        return result

    def gateway(self, server: SecurityServerId) -> GatewayInfo | None:
        params = self.shared(server.instance)
        for s in params.security_servers:
            if s.owner == server.owner and s.server_code == server.server_code:
                return _gateway(s, params.instance)
        return None

    def gateway_by_auth_cert(self, instance: str, cert_der: bytes) -> GatewayInfo | None:
        """The gateway of ``instance`` whose ``authCertHash`` matches this DER certificate."""
        params = self.shared(instance)
        server = params.server_by_auth_cert(cert_der)
        return _gateway(server, params.instance) if server is not None else None

    def global_group_members(self, group: GlobalGroupId) -> tuple[ClientId, ...]:
        for g in self.shared(group.instance).global_groups:
            if g.code == group.group_code:
                return g.members
        return ()

    def groups_of(self, client: ClientId) -> list[GlobalGroupId]:
        """Global groups (of any known instance) that list ``client`` or its member."""
        out = []
        for instance, params in self._shared.items():
            for g in params.global_groups:
                if client in g.members or client.member in g.members:
                    out.append(GlobalGroupId(instance, g.code))
        return out


def _gateway(server: SecurityServer, instance: str) -> GatewayInfo:
    return GatewayInfo(
        server=server.owner.server(server.server_code),
        address=server.address,
        auth_cert_hashes=server.auth_cert_hashes,
        in_maintenance=server.in_maintenance,
        maintenance_message=server.maintenance.message if server.maintenance else None,
    )
