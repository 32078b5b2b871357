"""Global configuration: model, signed directory, anchors, registry, generator, client."""

from .errors import FederationError

__all__ = ["FederationError"]
