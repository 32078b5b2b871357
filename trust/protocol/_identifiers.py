"""X-Road identifiers: members, subsystems, services, security servers, groups.

Every identifier starts with the instance code; the other parts follow X-Road's
hierarchy (NOTES section 1). They are frozen value types, so they can be dictionary
keys, set members and cache keys on the hot path.

Three representations:

* **text** (:meth:`to_text`), as REST headers and paths carry it: no type prefix, no
  service version, each part percent-encoded on its own so a ``/`` inside a code
  never splits it (``EE/GOV/70000001/tax``, ``EE/GOV/70000001/tax/getPerson``);
* **typed text** (:meth:`typed_text`), as logs and documentation write it:
  ``SERVICE:EE/GOV/70000001/tax/getPerson/v1``;
* **XML** in namespace ``http://x-road.eu/xsd/identifiers`` with qualified children in
  the schema's order and a qualified ``id:objectType`` attribute (:mod:`._identifiers_xml`).

Every part follows X-Road's identifier rules, whichever representation it came from
(text, typed text, XML, a constructor): the characters X-Road's management APIs refuse
(``:`` ``;`` ``/`` ``\\`` ``%``, control characters, the zero-width space and the byte
order mark) and the path segments ``.`` and ``..`` are refused with
:class:`~trust.errors.IdentifierError`. X-Road's proxy only logs a warning for them, but
a code that holds a separator is read differently by the text forms (``:`` ends the type
prefix, ``/`` ends a part, ``%`` starts an escape) and by the backends and access rights
that receive a REST path, so sild never lets one in. Real codes such as ``00000001_1``
or ``Test group`` pass: the rule refuses separators, not everything outside the spec's
``A-Za-z0-9'()+,-.=?``. :meth:`check_strict` stays as the check that registries call
before creating anything.
"""

from __future__ import annotations

import abc
import enum
import functools
import re
import urllib.parse
from dataclasses import dataclass
from typing import Union

from trust.errors import IdentifierError

# Characters X-Road's identifier validators refuse (its proxy warns about them): control
# characters, % : ; / \ and the zero-width space / byte order mark.
_SUSPICIOUS = re.compile(r"[\x00-\x1f\x7f%:;/\\\u200b\ufeff]")
_FORBIDDEN_NAMES = {":": "a colon", ";": "a semicolon", "/": "a slash", "\\": "a backslash", "%": "a percent sign",
                    "\u200b": "a zero-width space", "\ufeff": "a byte order mark"}
_MAX_PART = 255


class ObjectType(enum.Enum):
    MEMBER = "MEMBER"
    SUBSYSTEM = "SUBSYSTEM"
    SERVICE = "SERVICE"
    SERVER = "SERVER"
    GLOBALGROUP = "GLOBALGROUP"
    LOCALGROUP = "LOCALGROUP"


def _check_part(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise IdentifierError(f"{name} must be a string, got {type(value).__name__}")
    problem = _part_problem(value)
    if problem is not None:
        raise IdentifierError(f"{name} {problem}")


@functools.lru_cache(maxsize=8192)
def _part_problem(value: str) -> str | None:
    """What is wrong with one part, or None. Cached: every message names the same few
    instances, classes, members and services, so most checks are repeats."""
    if not value or not value.strip():
        return "must not be empty"
    if value != value.strip():
        return f"{value!r} has leading or trailing white space"
    if len(value) > _MAX_PART:
        return f"is longer than {_MAX_PART} characters"
    found = _SUSPICIOUS.search(value)
    if found is not None:
        what = _FORBIDDEN_NAMES.get(found.group(), "a control character")
        return f"{value!r} contains {what}, which X-Road identifiers must not contain"
    if value in (".", ".."):
        return f"{value!r} is not allowed (it reads as a path segment)"
    return None


def _check_optional(name: str, value: object) -> None:
    if value is not None:
        _check_part(name, value)


def _enc(part: str) -> str:
    return urllib.parse.quote(part, safe="'()+,-.=?_~!*$&@")


def _join(*parts: str | None) -> str:
    return _joined(parts)


@functools.lru_cache(maxsize=8192)
def _joined(parts: tuple[str | None, ...]) -> str:
    """Cached: ``to_text``/``typed_text`` of the same identifiers recur on every message."""
    return "/".join(_enc(p) for p in parts if p is not None)


class _IdBase(abc.ABC):
    """Shared behaviour; concrete classes are frozen dataclasses."""

    object_type: ObjectType

    @abc.abstractmethod
    def _parts(self) -> tuple[str | None, ...]:
        """The parts of the text form, in order (``None`` for an absent optional part)."""

    def to_text(self) -> str:
        return _join(*self._parts())

    def typed_text(self) -> str:
        return f"{self.object_type.value}:{self.to_text()}"

    def __str__(self) -> str:
        return self.typed_text()

    def check_strict(self) -> None:
        """Refuse characters X-Road warns about; call before creating new identifiers."""
        for part in self._parts():
            if part is not None and _SUSPICIOUS.search(part):
                raise IdentifierError(f"{self.typed_text()!r}: {part!r} contains a character X-Road does not allow")


@dataclass(frozen=True)
class MemberId(_IdBase):
    instance: str
    member_class: str
    member_code: str

    object_type = ObjectType.MEMBER

    def __post_init__(self) -> None:
        _check_part("instance", self.instance)
        _check_part("member class", self.member_class)
        _check_part("member code", self.member_code)

    def _parts(self) -> tuple[str | None, ...]:
        return (self.instance, self.member_class, self.member_code)

    @property
    def member(self) -> MemberId:
        return self

    def subsystem(self, subsystem_code: str) -> SubsystemId:
        return SubsystemId(self.instance, self.member_class, self.member_code, subsystem_code)

    def server(self, server_code: str) -> SecurityServerId:
        return SecurityServerId(self.instance, self.member_class, self.member_code, server_code)

    def service(self, service_code: str, service_version: str | None = None) -> ServiceId:
        return ServiceId(self.instance, self.member_class, self.member_code, None, service_code, service_version)


@dataclass(frozen=True)
class SubsystemId(_IdBase):
    instance: str
    member_class: str
    member_code: str
    subsystem_code: str

    object_type = ObjectType.SUBSYSTEM

    def __post_init__(self) -> None:
        _check_part("instance", self.instance)
        _check_part("member class", self.member_class)
        _check_part("member code", self.member_code)
        _check_part("subsystem code", self.subsystem_code)

    def _parts(self) -> tuple[str | None, ...]:
        return (self.instance, self.member_class, self.member_code, self.subsystem_code)

    @property
    def member(self) -> MemberId:
        return MemberId(self.instance, self.member_class, self.member_code)

    def service(self, service_code: str, service_version: str | None = None) -> ServiceId:
        return ServiceId(
            self.instance, self.member_class, self.member_code, self.subsystem_code, service_code, service_version
        )


ClientId = Union[MemberId, SubsystemId]


@dataclass(frozen=True)
class ServiceId(_IdBase):
    instance: str
    member_class: str
    member_code: str
    subsystem_code: str | None
    service_code: str
    service_version: str | None = None

    object_type = ObjectType.SERVICE

    def __post_init__(self) -> None:
        _check_part("instance", self.instance)
        _check_part("member class", self.member_class)
        _check_part("member code", self.member_code)
        _check_optional("subsystem code", self.subsystem_code)
        _check_part("service code", self.service_code)
        _check_optional("service version", self.service_version)

    def _parts(self) -> tuple[str | None, ...]:
        return (self.instance, self.member_class, self.member_code, self.subsystem_code, self.service_code)

    def typed_text(self) -> str:
        text = _join(*self._parts(), self.service_version)
        return f"{self.object_type.value}:{text}"

    def check_strict(self) -> None:
        super().check_strict()
        if self.service_version is not None and _SUSPICIOUS.search(self.service_version):
            raise IdentifierError(f"service version {self.service_version!r} contains a character X-Road does not allow")

    @property
    def provider(self) -> ClientId:
        if self.subsystem_code is None:
            return MemberId(self.instance, self.member_class, self.member_code)
        return SubsystemId(self.instance, self.member_class, self.member_code, self.subsystem_code)

    @property
    def member(self) -> MemberId:
        return MemberId(self.instance, self.member_class, self.member_code)

    def without_version(self) -> ServiceId:
        """Access rights ignore the version, as X-Road does."""
        if self.service_version is None:
            return self
        return ServiceId(self.instance, self.member_class, self.member_code, self.subsystem_code, self.service_code)


@dataclass(frozen=True)
class SecurityServerId(_IdBase):
    instance: str
    member_class: str
    member_code: str
    server_code: str

    object_type = ObjectType.SERVER

    def __post_init__(self) -> None:
        _check_part("instance", self.instance)
        _check_part("member class", self.member_class)
        _check_part("member code", self.member_code)
        _check_part("server code", self.server_code)

    def _parts(self) -> tuple[str | None, ...]:
        return (self.instance, self.member_class, self.member_code, self.server_code)

    @property
    def owner(self) -> MemberId:
        return MemberId(self.instance, self.member_class, self.member_code)

    @property
    def member(self) -> MemberId:
        return self.owner


@dataclass(frozen=True)
class GlobalGroupId(_IdBase):
    instance: str
    group_code: str

    object_type = ObjectType.GLOBALGROUP

    def __post_init__(self) -> None:
        _check_part("instance", self.instance)
        _check_part("group code", self.group_code)

    def _parts(self) -> tuple[str | None, ...]:
        return (self.instance, self.group_code)


@dataclass(frozen=True)
class LocalGroupId(_IdBase):
    group_code: str

    object_type = ObjectType.LOCALGROUP

    def __post_init__(self) -> None:
        _check_part("group code", self.group_code)

    def _parts(self) -> tuple[str | None, ...]:
        return (self.group_code,)


@dataclass(frozen=True)
class RepresentedParty:
    """The party a client acts for (X-Road's representation extension): ``[class/]code``."""

    party_code: str
    party_class: str | None = None

    def __post_init__(self) -> None:
        _check_part("party code", self.party_code)
        _check_optional("party class", self.party_class)

    def to_text(self) -> str:
        return _join(self.party_class, self.party_code)

    @classmethod
    def parse(cls, text: str) -> RepresentedParty:
        parts = _split(text, "represented party")
        if len(parts) == 1:
            return cls(parts[0])
        if len(parts) == 2:
            return cls(parts[1], parts[0])
        raise IdentifierError(f"represented party {text!r} must be [class/]code")


AnyId = Union[MemberId, SubsystemId, ServiceId, SecurityServerId, GlobalGroupId, LocalGroupId]


# -- text parsing -------------------------------------------------------------


def _split(text: str, what: str) -> list[str]:
    if not isinstance(text, str):
        raise IdentifierError(f"{what} must be text")
    text = text.strip()
    if not text:
        raise IdentifierError(f"{what} is empty")
    parts = [urllib.parse.unquote(p) for p in text.split("/")]
    if any(not p for p in parts):
        raise IdentifierError(f"{what} {text!r} has an empty part")
    return parts
