"""The parts of one gateway node, bundled for its two proxies.

:class:`GatewayParts` bundles the collaborators a gateway node runs with (see
:mod:`gateway.proxy._context` for the interfaces); :mod:`gateway.node._node` builds it
with the real implementations, tests with real parts in-process. One bundle keeps the
proxies' constructors short and says in one place what an exchange may use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trust.infra import utc_now
from trust.protocol import SecurityServerId

from gateway.monitoring import MonitoringFeed
from gateway.serverconf import AccessChecker, ServerConf
from gateway.tracker import Tracker

from ._backends import BackendClients
from ._context import AuthCertCheck, Clock, GlobalConfView, MessageLogSink, MessageSigning, OwnOcsp


@dataclass
class GatewayParts:
    """Everything the proxies of one gateway node use."""

    server_id: SecurityServerId
    conf: GlobalConfView
    serverconf: "ServerConf"
    access: "AccessChecker"
    signing: MessageSigning
    auth_check: AuthCertCheck
    log: MessageLogSink
    own_ocsp: OwnOcsp
    clock: Clock = utc_now
    monitoring: "MonitoringFeed | None" = None
    backends: "BackendClients" = field(default_factory=lambda: BackendClients())
    extra: dict[str, Any] = field(default_factory=dict)
    tracker: "Tracker | None" = None  # the data tracker, on a provider's gateway (gateway.tracker)
