"""Where the shared templates and static files are, and which navigation items a user sees.

The files ship inside the package (``setup.cfg`` package data) because gateways often
have no internet: no CDN, no build step. A role's Flask app points a blueprint's
``template_folder`` and ``static_folder`` at these paths; its own templates extend
``accounts/base.html`` and import ``accounts/macros.html``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from ._roles import may

TEMPLATE_FOLDER = Path(__file__).parent / "templates"
STATIC_FOLDER = Path(__file__).parent / "static"


@dataclass(frozen=True)
class NavItem:
    """One entry of the side navigation: its label, its URL, and the roles that see it (empty: everyone)."""

    label: str
    url: str
    roles: tuple[str, ...] = ()
    current: bool = False


def navigation(items: Iterable[NavItem], granted: Collection[str], current_url: str = "") -> list[NavItem]:
    """The items a user with ``granted`` roles may open, the one at ``current_url`` marked current.

    A page the user may not open is not offered: the link would only lead to a refusal.
    """
    return [NavItem(item.label, item.url, item.roles, item.url == current_url)
            for item in items if may(granted, item.roles)]
