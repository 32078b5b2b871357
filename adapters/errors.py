"""The ``adapters`` branch of sild's exception tree."""

from __future__ import annotations

from trust.errors import SildError


class AdapterError(SildError):
    """Legacy backends, mappings, adapter definitions, payload signatures."""

    code = "adapters.error"
