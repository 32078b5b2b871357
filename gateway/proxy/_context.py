"""What the two proxies need from the rest of sild, as narrow interfaces.

The client proxy and the server proxy are the integration point of sild: they use
the verified global configuration (``federation``), the gateway's own server
configuration and access rights, message signatures (``trust``), the message log and
the peer transport. Each of those is owned by its own module; the proxies see them
only through the small protocols below, and :mod:`gateway.node._node` wires the real
implementations in. That keeps the hot path readable (one place says what an exchange
costs) and lets tests drive the proxies with real parts in-process.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, Protocol, Sequence

from trust.protocol import ClientId, GlobalGroupId, MemberId, SecurityServerId

from gateway.conf import ClientListing, ServerEntry

from gateway.signing import MessageSignature, SignedParts
from gateway.messagelog import LogEntry


class GlobalConfView(Protocol):
    """The verified global configuration of the own instance and allowed federated ones."""

    own_instance: str

    def check_valid(self, at: dt.datetime) -> None:
        """Raise ``XRoadFault(global_conf_outdated)`` if the own configuration expired."""

    def instances(self, at: dt.datetime) -> list[str]:
        """Own instance first, then federated instances whose configuration is valid."""

    def servers_serving(self, client: ClientId, at: dt.datetime) -> list[ServerEntry]:
        """Gateways that list ``client`` (or, for a member, any of its subsystems)."""

    def server_entry(self, server: SecurityServerId, at: dt.datetime) -> ServerEntry | None: ...

    def client_exists(self, client: ClientId, at: dt.datetime) -> bool: ...

    def server_with_auth_cert(self, cert_sha256: bytes, at: dt.datetime) -> ServerEntry | None: ...

    def is_client_of(self, server: SecurityServerId, client: ClientId, at: dt.datetime) -> bool: ...

    def global_groups_of(self, client: ClientId, at: dt.datetime) -> frozenset[GlobalGroupId]: ...

    def list_clients(self, instance: str, at: dt.datetime) -> list[ClientListing]: ...

    def ca_certs_pem(self, at: dt.datetime) -> bytes:
        """PEM of every approved CA (top and intermediate) of every trusted instance."""

    def member_name(self, member: MemberId, at: dt.datetime) -> str | None: ...


class MessageSigning(Protocol):
    """XAdES signatures over transport messages (owned by ``trust``)."""

    def sign(self, data: SignedParts, *, member: MemberId) -> bytes:
        """Signature XML (``signature/bdoc-1.0/ts``) by ``member``'s sign key on this gateway."""

    def sign_message(self, data: SignedParts, *, member: MemberId) -> MessageSignature:
        """The message's signature, made alone or in a batch with concurrent messages of
        ``member`` (then with its hash chain; see :mod:`gateway.signing._batch`)."""

    def verify(self, signature: bytes, data: SignedParts, *, signer: MemberId, at: dt.datetime,
               hash_chain_result: bytes | None = None, hash_chain: bytes | None = None) -> None:
        """Raise ``XRoadFault`` unless the signature is by ``signer``'s valid sign cert and
        covers ``data`` (through ``hash_chain`` up to ``hash_chain_result`` for a batch)."""


class AuthCertCheck(Protocol):
    """Validates a peer's TLS auth certificate with the OCSP responses it sent."""

    def check(self, cert_der: bytes, ocsp_responses: Sequence[bytes], *, instance: str,
              at: dt.datetime) -> None:
        """Raise ``XRoadFault(ssl_authentication_failed)`` unless chain + OCSP are good."""


class MessageLogSink(Protocol):
    """``gateway.messagelog._log.MessageLog`` as the proxies use it."""

    def append(self, entry: "LogEntry") -> int: ...

    def append_all(self, entries: Sequence["LogEntry"]) -> int: ...

    def check_accepting(self, at: dt.datetime | None = None) -> None: ...


class OwnOcsp(Protocol):
    """OCSP responses for the own auth certificate chain (kept fresh by a job)."""

    def responses(self) -> list[bytes]: ...


Clock = Callable[[], dt.datetime]

