"""What the configuration client is told and what it reports.

:class:`ClientConfig` (anchor, directory, which partners to follow, TLS, limits) is
built from the gateway's settings or the ``sild conf`` command line;
:class:`RefreshReport` is what one refresh round did per instance, which the gateway
logs and ``status.json`` keeps. Both are plain values, apart from the client that
uses them (:mod:`federation.client._client`), so settings code and reports can be
read and built without the downloading machinery.
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from federation.model import ConfError, ConfigurationAnchor

DEFAULT_VERSIONS = (6, 5, 4, 3, 2)
DEFAULT_INTERVAL_SECONDS = 60
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


class ConfRolledBack(ConfError):
    """A source served a valid directory that expires before the newest one this client accepted.

    Either an attacker replays older configuration (a removed gateway, CA or member
    would come back until it expires) or the authority shortened its validity
    interval; the stored copy stays in use either way.
    """

    code = "federation.conf.rolled_back"


@dataclass(frozen=True)
class AllowedFederations:
    """Which partner instances a gateway may download (``[configuration-client] allowed-federations``)."""

    allow_all: bool = False
    instances: frozenset[str] = frozenset()  # lower-cased

    @classmethod
    def parse(cls, value: str | Iterable[str] | None) -> "AllowedFederations":
        """``None``/``"none"`` (default): nobody; ``"all"``; or ``"ee,fi"`` / ``["EE", "fi"]``."""
        if value is None:
            return cls()
        items = [v.strip() for v in (value.split(",") if isinstance(value, str) else value) if v and v.strip()]
        lowered = [v.lower() for v in items]
        if not lowered or lowered == ["none"]:
            return cls()
        if "all" in lowered:
            if len(lowered) > 1:
                raise ValueError("allowed-federations: 'all' cannot be combined with instance names")
            return cls(allow_all=True)
        if "none" in lowered:
            raise ValueError("allowed-federations: 'none' cannot be combined with instance names")
        return cls(instances=frozenset(lowered))

    def allows(self, instance: str) -> bool:
        return self.allow_all or instance.lower() in self.instances

    def __str__(self) -> str:
        if self.allow_all:
            return "all"
        return ",".join(sorted(self.instances)) or "none"


@dataclass(frozen=True)
class ClientConfig:
    anchor: ConfigurationAnchor
    directory: Path
    allowed_federations: AllowedFederations = field(default_factory=AllowedFederations)
    ssl_context: ssl.SSLContext | None = None
    timeout_seconds: float = 20.0
    versions: tuple[int, ...] = DEFAULT_VERSIONS
    max_bytes: int = MAX_DOWNLOAD_BYTES

    def __post_init__(self) -> None:
        if not self.versions or any(v not in DEFAULT_VERSIONS for v in self.versions):
            raise ValueError(f"versions must be taken from {DEFAULT_VERSIONS}")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout must be positive")


@dataclass(frozen=True)
class InstanceOutcome:
    """What one refresh did for one instance."""

    instance: str
    ok: bool
    kind: str  # internal / external
    code: str | None = None
    message: str | None = None
    source_url: str | None = None
    expires_at: dt.datetime | None = None
    kept_previous: bool = False


@dataclass(frozen=True)
class RefreshReport:
    at: dt.datetime
    outcomes: tuple[InstanceOutcome, ...]
    removed: tuple[str, ...] = ()

    def outcome(self, instance: str) -> InstanceOutcome | None:
        for o in self.outcomes:
            if o.instance == instance:
                return o
        return None

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)
