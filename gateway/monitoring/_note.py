"""The operational monitoring note of one exchange: what a proxy learns, typed.

A proxy learns about an exchange step by step: when it starts, who calls which
service once the request is read, the provider's gateway once the request is sent,
the outcome at the end. It used to write that into a dict with X-Road's field names
from a dozen places; a typo there became a record the store refused, far from its
cause. :class:`OpNote` holds the same facts as typed attributes (identifiers, not
their parts) and :meth:`OpNote.fields` names them in X-Road's terms
(``gateway.monitoring._store.FIELDS``) in the feed's writer thread, off the hot path.

The note is not frozen: it is filled in as the exchange proceeds, and one object per
exchange is cheaper than a copy per step. ``slots`` keep it to the fields below.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from trust.protocol import ClientId, ServiceId, SubsystemId

Side = Literal["client", "server"]
XROAD_VERSION = "sild/1"


@dataclass(slots=True, eq=False)
class OpNote:
    """One exchange on one side, as operational monitoring records it.

    ``None`` means "not known" and is left out of the record, as X-Road does.
    """

    side: Side
    request_in_ts: int  # ms since the epoch, when the request came in
    started: float  # time.perf_counter() then, for the duration metric
    client: ClientId | None = None
    service: ServiceId | None = None
    service_type: str | None = None  # WSDL, REST
    message_id: str | None = None
    x_request_id: str | None = None
    request_size: int | None = None
    user_id: str | None = None
    issue: str | None = None
    protocol_version: str | None = None
    request_attachment_count: int | None = None
    rest_method: str | None = None
    rest_path: str | None = None
    service_server_address: str | None = None
    response_size: int | None = None
    # ms since the epoch: the request left for the provider's gateway (client side) or the
    # service (server side), and its answer came back; unknown when refused before that
    request_out_ts: int | None = None
    response_in_ts: int | None = None
    # the outcome, set by the proxy (faults) and the feed (MonitoringFeed.finish)
    response_out_ts: int | None = None
    status_code: int | None = None
    fault_code: str | None = None
    fault_string: str | None = None

    @classmethod
    def start(cls, side: Side) -> OpNote:
        """A note for an exchange that starts now."""
        return cls(side, int(time.time() * 1000), time.perf_counter())

    def identify(self, client: ClientId, service: ServiceId, service_type: str, *, x_request_id: str,
                 request_size: int, message_id: str | None = None, user_id: str | None = None,
                 issue: str | None = None, protocol_version: str | None = None,
                 attachment_count: int | None = None, rest_method: str | None = None,
                 rest_path: str | None = None) -> None:
        """Who calls what: known once the request is read. Only identified notes are recorded."""
        self.client = client
        self.service = service
        self.service_type = service_type
        self.x_request_id = x_request_id
        self.request_size = request_size
        self.message_id = message_id
        self.user_id = user_id
        self.issue = issue
        self.protocol_version = protocol_version
        self.request_attachment_count = attachment_count
        self.rest_method = rest_method
        self.rest_path = rest_path

    @property
    def identified(self) -> bool:
        """An exchange (not ``listClients`` or a WSDL download, not a request refused unread)."""
        return self.service is not None

    def sending(self) -> None:
        """The request leaves now (to the provider's gateway, or to the service)."""
        self.request_out_ts = int(time.time() * 1000)

    def answered(self) -> None:
        """Its answer came back now."""
        self.response_in_ts = int(time.time() * 1000)

    def fail(self, fault_code: str, fault_string: str) -> None:
        self.fault_code = fault_code
        self.fault_string = fault_string

    def fields(self) -> dict[str, Any]:
        """The record in X-Road's field names; unknown values left out."""
        out: dict[str, Any] = {
            "securityServerType": "Client" if self.side == "client" else "Producer",
            "requestInTs": self.request_in_ts,
        }
        client, service = self.client, self.service
        if client is not None:
            out["clientXRoadInstance"] = client.instance
            out["clientMemberClass"] = client.member_class
            out["clientMemberCode"] = client.member_code
            if isinstance(client, SubsystemId):
                out["clientSubsystemCode"] = client.subsystem_code
        if service is not None:
            out["serviceXRoadInstance"] = service.instance
            out["serviceMemberClass"] = service.member_class
            out["serviceMemberCode"] = service.member_code
            out["serviceCode"] = service.service_code
            if service.subsystem_code is not None:
                out["serviceSubsystemCode"] = service.subsystem_code
            if service.service_version is not None:
                out["serviceVersion"] = service.service_version
        for name, value in (
            ("serviceType", self.service_type), ("messageId", self.message_id), ("xRequestId", self.x_request_id),
            ("requestSize", self.request_size), ("messageUserId", self.user_id), ("messageIssue", self.issue),
            ("messageProtocolVersion", self.protocol_version),
            ("requestAttachmentCount", self.request_attachment_count), ("restMethod", self.rest_method),
            ("restPath", self.rest_path), ("serviceSecurityServerAddress", self.service_server_address),
            ("responseSize", self.response_size), ("requestOutTs", self.request_out_ts),
            ("responseInTs", self.response_in_ts), ("responseOutTs", self.response_out_ts),
            ("statusCode", self.status_code),
        ):
            if value is not None:
                out[name] = value
        if self.response_out_ts is not None:
            out["monitoringDataTs"] = self.response_out_ts // 1000
        out["succeeded"] = self.fault_code is None
        if self.fault_code is not None:
            out["faultCode"] = self.fault_code
            out["faultString"] = (self.fault_string or "")[:1000]
        out["xRoadVersion"] = XROAD_VERSION
        return out
