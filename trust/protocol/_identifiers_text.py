"""X-Road identifiers in their text forms: the plain REST form and the typed form.

``parse_client``, ``parse_service`` and ``parse_server`` read the plain form of REST
headers and paths (``EE/GOV/70000001/tax``, each part percent-decoded on its own);
:func:`parse_typed` reads the typed form of logs, documentation and the CLI
(``SERVICE:EE/GOV/70000001/tax/getPerson/v1``). A typed text handed to a plain reader
goes through :func:`parse_typed` (``parse_service("SERVICE:EE/...")`` is a service of
instance ``EE``, never of instance ``SERVICE:EE``). Every part passes the identifier
rules of :mod:`._identifiers`, so ``:``, ``/`` and ``%`` never end up inside a code.
Kept apart from the value types so each module holds one concept.
"""

from __future__ import annotations

import functools

from trust.errors import IdentifierError

from ._identifiers import (
    AnyId, ClientId, GlobalGroupId, LocalGroupId, MemberId, ObjectType, SecurityServerId, ServiceId, SubsystemId,
    _split,
)


def _typed_prefix(text: str) -> ObjectType | None:
    """The object type of a typed text (``SERVICE:EE/...``); ``None`` for the plain form."""
    if not isinstance(text, str):
        return None
    head, sep, _ = text.strip().partition(":")
    if not sep or "/" in head:
        return None
    try:
        return ObjectType(head.strip().upper())
    except ValueError:
        return None


def _typed_as(text: str, wanted: tuple[type, ...], what: str) -> AnyId:
    """The typed ``text`` read by :func:`parse_typed`, which must be one of ``wanted``."""
    found = parse_typed(text)
    if not isinstance(found, wanted):
        raise IdentifierError(f"{what} {text!r} is a {found.object_type.value} identifier")
    return found


@functools.lru_cache(maxsize=4096)
def parse_client(text: str) -> ClientId:
    """``INST/CLASS/CODE`` (member) or ``INST/CLASS/CODE/SUB`` (subsystem); the typed form
    (``SUBSYSTEM:EE/...``) is read by :func:`parse_typed`."""
    if _typed_prefix(text) is not None:
        return _typed_as(text, (MemberId, SubsystemId), "client identifier")  # type: ignore[return-value]
    parts = _split(text, "client identifier")
    if len(parts) == 3:
        return MemberId(*parts)
    if len(parts) == 4:
        return SubsystemId(*parts)
    raise IdentifierError(f"client identifier {text!r} must have 3 or 4 parts, has {len(parts)}")


@functools.lru_cache(maxsize=4096)
def parse_service(text: str) -> ServiceId:
    """``INST/CLASS/CODE/SUB/SERVICE`` (REST form) or with ``/VERSION`` appended.

    Four parts name a service of a member without subsystem. The typed form
    (``SERVICE:EE/GOV/1/sub/getX/v1``) is read by :func:`parse_typed`.
    """
    if _typed_prefix(text) is not None:
        return _typed_as(text, (ServiceId,), "service identifier")  # type: ignore[return-value]
    return _service_from_parts(_split(text, "service identifier"), text)


def _service_from_parts(parts: list[str], text: str) -> ServiceId:
    if len(parts) == 4:
        return ServiceId(parts[0], parts[1], parts[2], None, parts[3])
    if len(parts) == 5:
        return ServiceId(*parts)
    if len(parts) == 6:
        return ServiceId(*parts)
    raise IdentifierError(f"service identifier {text!r} must have 4 to 6 parts, has {len(parts)}")


@functools.lru_cache(maxsize=4096)
def parse_server(text: str) -> SecurityServerId:
    """``INST/CLASS/CODE/SERVERCODE``; the typed form (``SERVER:EE/...``) is read by :func:`parse_typed`."""
    if _typed_prefix(text) is not None:
        return _typed_as(text, (SecurityServerId,), "security server identifier")  # type: ignore[return-value]
    parts = _split(text, "security server identifier")
    if len(parts) != 4:
        raise IdentifierError(f"security server identifier {text!r} must have 4 parts, has {len(parts)}")
    return SecurityServerId(*parts)


def parse_typed(text: str) -> AnyId:
    """``TYPE:parts`` as written in logs and docs, e.g. ``SUBSYSTEM:EE/GOV/70000001/tax``."""
    if not isinstance(text, str) or ":" not in text:
        raise IdentifierError(f"typed identifier {text!r} needs a TYPE: prefix")
    prefix, _, rest = text.strip().partition(":")
    try:
        object_type = ObjectType(prefix.strip().upper())
    except ValueError:
        raise IdentifierError(f"unknown identifier type {prefix!r}") from None
    parts = _split(rest, f"{object_type.value} identifier")
    try:
        if object_type is ObjectType.MEMBER and len(parts) == 3:
            return MemberId(*parts)
        if object_type is ObjectType.SUBSYSTEM and len(parts) == 4:
            return SubsystemId(*parts)
        if object_type is ObjectType.SERVICE:
            return _service_from_parts(parts, rest)
        if object_type is ObjectType.SERVER and len(parts) == 4:
            return SecurityServerId(*parts)
        if object_type is ObjectType.GLOBALGROUP and len(parts) == 2:
            return GlobalGroupId(*parts)
        if object_type is ObjectType.LOCALGROUP and len(parts) == 1:
            return LocalGroupId(*parts)
    except TypeError:  # pragma: no cover - guarded by the length checks
        pass
    raise IdentifierError(f"{object_type.value} identifier {rest!r} has the wrong number of parts ({len(parts)})")
