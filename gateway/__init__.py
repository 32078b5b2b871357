"""The gateway (X-Road's security server), the ``sild`` CLI and the sandbox."""

from .errors import GatewayError

__all__ = ["GatewayError"]
