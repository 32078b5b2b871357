"""The ``federation`` branch of sild's exception tree."""

from __future__ import annotations

from trust.errors import SildError


class FederationError(SildError):
    """Global configuration, anchors, the registry, the configuration client."""

    code = "federation.error"
