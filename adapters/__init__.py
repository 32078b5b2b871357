"""Adapters: legacy SOAP/XML systems become proper exchange services."""

from .errors import AdapterError

__all__ = ["AdapterError"]
