"""The one JSON error shape of sild's admin APIs and the one way to pick its HTTP status.

Both admin APIs answer every refusal with a JSON object that has a stable dotted
``code`` and a human ``message`` at its top level (the ``Error`` schema of both
OpenAPI descriptions). Before they agreed, the gateway answered
``{"error": {"code", "message"}}`` and the authority ``{"error": code, "message"}``;
clients of either may read ``error`` still, so each API keeps its old ``error``
field beside the shared ones (deprecated in the descriptions, never removed without
notice). :func:`error_body` builds the object; the Flask handlers only serialise it.

Which status a :class:`~trust.errors.SildError` gets is one table per API keyed by
error code, not a ladder of ``isinstance`` tests: :func:`status_for` looks up the
error's own code, then the codes of its classes from the most specific up, and for
each code also its dotted families (``federation.conf`` for
``federation.conf.store_failed``). Codes are the stable contract, so the table reads
the same as the error documentation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from trust.errors import SildError


def error_body(code: str, message: str, **legacy: object) -> dict[str, object]:
    """``{"code", "message"}`` plus the fields an API answered before (``legacy``, deprecated)."""
    return {**legacy, "code": code, "message": message}


def error_codes(error: SildError) -> Iterator[str]:
    """The codes that describe ``error``, most specific first, each followed by its families."""
    seen: set[str] = set()
    for code in error.codes():
        parts = code.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def status_for(error: SildError, table: Mapping[str, int], default: int) -> int:
    """The HTTP status of the first of :func:`error_codes` found in ``table``; else ``default``."""
    for code in error_codes(error):
        status = table.get(code)
        if status is not None:
            return status
    return default
