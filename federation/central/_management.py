"""X-Road's management requests after registration: a gateway's client lifecycle.

Once a gateway is registered (``authCertReg``), its owner changes what the registry
says about it with X-Road's management requests (PR-MSERV ``request.xsd``):

* ``clientReg``: the gateway serves a new client subsystem;
* ``clientDeletion``: it no longer serves one;
* ``ownerChange``: another member, already a client of the gateway, becomes its owner;
* ``addressChange``: the gateway is reached at another address.

X-Road sends these as SOAP messages through the security server to the management
service provider; sild carries them in the same signed JSON document as the
registration request (:mod:`federation.central._registration`), posted to the same
endpoint, so that one verification path, one queue and the same approve/decline
commands serve them all. The payload names its ``type``; ``clients`` holds the client
(``clientReg``, ``clientDeletion``) or the new owner (``ownerChange``); ``address``
the new address (``addressChange``). The owner's and the auth key's signatures are
required as for registration: the auth key proves the request comes from the
gateway itself, and the authority also checks that its certificate is registered to
that gateway (:func:`federation.central.registry.store_request`). When the request
concerns another member than the owner (a client subsystem of a member the gateway
hosts, the new owner) that member signs too (``memberSignature``), as X-Road requires
the client's signature on ``clientReg`` and the new owner's on ``ownerChange``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from trust.pki import TrustPolicy
from trust.protocol import ClientId, MemberId, SecurityServerId, SubsystemId
from trust.keys import Signer

from ._registration import MemberSigner, RegistrationMalformed, signed_document, verify_member_signature

CLIENT_REG = "clientReg"
CLIENT_DELETION = "clientDeletion"
OWNER_CHANGE = "ownerChange"
ADDRESS_CHANGE = "addressChange"
MANAGEMENT_TYPES = (CLIENT_REG, CLIENT_DELETION, OWNER_CHANGE, ADDRESS_CHANGE)


def concerned_member(request_type: str, server: SecurityServerId, clients: Sequence[ClientId]) -> MemberId | None:
    """The member other than the owner that must sign the request too, or None."""
    if request_type in (CLIENT_REG, OWNER_CHANGE) and clients and clients[0].member != server.owner:
        return clients[0].member
    return None


def check_management(request_type: str, server: SecurityServerId, clients: Sequence[ClientId], address: str | None,
                     outer: dict[str, object], payload: bytes, policy: TrustPolicy, at: dt.datetime) -> None:
    """The rules of each management type, after the owner's and auth key's signatures verified."""
    if request_type == ADDRESS_CHANGE:
        if clients or not address:
            raise RegistrationMalformed("an addressChange request names the new address and no client")
    elif len(clients) != 1:
        raise RegistrationMalformed(f"a {request_type} request names exactly one client")
    elif request_type == OWNER_CHANGE:
        if not isinstance(clients[0], MemberId) or clients[0] == server.owner:
            raise RegistrationMalformed("an ownerChange request names the new owner, a member other than the owner")
    elif not isinstance(clients[0], SubsystemId):
        raise RegistrationMalformed(f"a {request_type} request names a subsystem (INSTANCE/CLASS/CODE/SUBSYSTEM)")
    member = concerned_member(request_type, server, clients)
    if member is not None:
        if "memberSignature" not in outer:
            raise RegistrationMalformed(f"a {request_type} request for {member.to_text()} needs that member's "
                                        "signature (memberSignature)")
        verify_member_signature(outer, "memberSignature", payload, policy, at, member)
    elif "memberSignature" in outer:
        raise RegistrationMalformed(f"a {request_type} request for the owner's own client carries no memberSignature")


def build_management_request(
    request_type: str, *, server: SecurityServerId, auth_cert: bytes, auth_signer: Signer, auth_key_id: str,
    auth_ocsp: bytes, owner: MemberSigner, client: ClientId | None = None, address: str | None = None,
    member: MemberSigner | None = None, created_at: dt.datetime,
) -> bytes:
    """The signed document of a management request (bytes to POST with ``submit_registration_request``)."""
    if request_type not in MANAGEMENT_TYPES:
        raise RegistrationMalformed(f"unknown management request type {request_type!r}")
    return signed_document(request_type, server=server, address=address, auth_cert=auth_cert,
                           clients=() if client is None else (client,), owner=owner, auth_signer=auth_signer,
                           auth_key_id=auth_key_id, auth_ocsp=auth_ocsp, created_at=created_at, member=member)


__all__ = ["ADDRESS_CHANGE", "CLIENT_DELETION", "CLIENT_REG", "MANAGEMENT_TYPES", "OWNER_CHANGE",
           "build_management_request", "check_management", "concerned_member"]
