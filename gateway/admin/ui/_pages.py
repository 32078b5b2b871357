"""Which of X-Road's roles may open each page of the gateway's UI and take each action.

One table, read by the navigation (a user is offered only the pages they may open)
and by every view's guard, so a page and its link cannot disagree. The split follows
X-Road's security server: the security officer keeps keys, certificates and the
anchor; the registration officer adds and registers clients; the service
administrator keeps services and access rights; the system administrator keeps
settings, backups, API keys and the audit trail; the observer reads every page and
changes nothing. Reading a page needs no particular role (``ANYONE``).
"""

from __future__ import annotations

from trust.accounts import NavItem

ANYONE: tuple[str, ...] = ()
SECURITY = ("security-officer",)
REGISTRATION = ("registration-officer",)
SERVICES = ("service-administrator",)
SYSTEM = ("system-administrator",)
# the audit log and the message log are evidence: the officers and the observer read them
EVIDENCE = ("security-officer", "system-administrator", "observer")

PREFIX = "/ui"

NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", f"{PREFIX}/"),
    NavItem("Clients", f"{PREFIX}/clients"),
    NavItem("Services", f"{PREFIX}/services"),
    NavItem("Keys and certificates", f"{PREFIX}/keys"),
    NavItem("Anchor", f"{PREFIX}/anchor"),
    NavItem("Message log", f"{PREFIX}/messagelog", EVIDENCE),
    NavItem("Traffic", f"{PREFIX}/traffic", EVIDENCE),
    NavItem("Audit log", f"{PREFIX}/audit", EVIDENCE),
    NavItem("Settings", f"{PREFIX}/settings"),
    NavItem("API keys", f"{PREFIX}/apikeys", SYSTEM),
    NavItem("Backup", f"{PREFIX}/backup", SYSTEM),
)
