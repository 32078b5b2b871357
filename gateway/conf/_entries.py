"""What the global configuration lists, in the form the gateway uses it.

A gateway entry (address, hashes of its auth certificates, maintenance) and a client
listing are what the configuration view answers and the proxies consume; they live
with the view so that neither the proxies nor the view needs the other to name them.
"""

from __future__ import annotations

from dataclasses import dataclass

from trust.protocol import ClientId, SecurityServerId


@dataclass(frozen=True)
class ServerEntry:
    """A gateway as the global configuration lists it."""

    server_id: SecurityServerId
    address: str
    auth_cert_hashes: frozenset[bytes]  # SHA-256 of the DER auth certificates
    in_maintenance: bool = False
    maintenance_message: str = ""


@dataclass(frozen=True)
class ClientListing:
    client: ClientId
    name: str
    subsystem_name: str | None = None
