"""X-Road's five user roles, as data both admin UIs share.

X-Road's security server and central server UIs know the same five roles (security
officer, registration officer, service administrator, system administrator,
observer); operators trained on them expect the same words and the same split of
duties. sild keeps them as data here and leaves it to each role's UI (gateway,
authority) to say which roles may open which page or take which action: the split
differs between the two servers, the vocabulary does not.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """One role: its stable ``name`` (stored, typed at the CLI), its title and what it is for."""

    name: str
    title: str
    duties: str
    xroad_name: str


ROLES: tuple[Role, ...] = (
    Role("security-officer", "Security officer",
         "keys, tokens and certificates; anchors; time-stamping services", "XROAD_SECURITY_OFFICER"),
    Role("registration-officer", "Registration officer",
         "members, subsystems and their registration", "XROAD_REGISTRATION_OFFICER"),
    Role("service-administrator", "Service administrator",
         "service descriptions, services and access rights", "XROAD_SERVICE_ADMINISTRATOR"),
    Role("system-administrator", "System administrator",
         "settings, backups, API keys and user accounts", "XROAD_SYSTEM_ADMINISTRATOR"),
    Role("observer", "Observer",
         "reads every page, changes nothing", "XROAD_SECURITYSERVER_OBSERVER"),
)
ROLE_NAMES: tuple[str, ...] = tuple(role.name for role in ROLES)
_BY_NAME = {role.name: role for role in ROLES}


def role(name: str) -> Role:
    """The role called ``name``; ``KeyError`` if there is none."""
    return _BY_NAME[name]


def unknown_role_names(names: Iterable[str]) -> list[str]:
    """The names of ``names`` that are not roles, in the order given (for a one-line refusal)."""
    return [name for name in names if name not in _BY_NAME]


def may(granted: Collection[str], needed: Iterable[str]) -> bool:
    """Whether a user with ``granted`` roles may do what needs one of ``needed``.

    Unlike API keys there is no superuser: X-Road separates duties, so a system
    administrator does not sign keys unless also given the security officer's role.
    An empty ``needed`` means any signed-in user.
    """
    wanted = set(needed)
    return not wanted or bool(wanted.intersection(granted))
