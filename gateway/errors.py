"""The ``gateway`` branch of sild's exception tree."""

from __future__ import annotations

from trust.errors import SildError


class GatewayError(SildError):
    """Proxies, transport, access rights, message log, administration."""

    code = "gateway.error"
