"""A gateway's settings: what ``DIR/gateway.json`` holds, and where the token PIN comes from.

This is the ground floor of ``gateway``: every room reads the settings (the node to
start, the configuration store for the instance and federations, the CLI for the
databases), so the module knows nothing but the file and its validation. Making a
gateway directory (keys, CSRs, certificate import, the internal TLS certificate) is
:mod:`gateway.provision`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trust.errors import IdentifierError
from trust.keys import PIN_ENV, KeyType, write_atomic
from trust.protocol import SecurityServerId, parse_server

from gateway.errors import GatewayError

SETTINGS_FILE = "gateway.json"
MAX_WORKERS = 64  # processes per gateway node; more would only multiply memory and connections


class SetupError(GatewayError):
    code = "gateway.setup.error"


@dataclass(frozen=True)
class NodeSettings:
    """What ``gateway.json`` holds; validated when built."""

    server: str
    instance: str
    is_host: str = "127.0.0.1"
    is_port: int = 8080
    is_tls_port: int = 0  # HTTPS for information systems (needed by https / https-cert clients); 0 = off
    peer_host: str = "127.0.0.1"
    peer_port: int = 5500
    ocsp_port: int = 0  # X-Road's plain-HTTP OCSP-responses port (5577); 0 = only on the mTLS port
    admin_port: int = 0
    public_address: str = ""  # the address registered in the global configuration
    allowed_federations: tuple[str, ...] = ()  # instance codes, or ("all",)
    key_type: str = KeyType.RSA2048.value
    conf_interval_seconds: int = 60
    ocsp_interval_seconds: int = 600
    timestamp_interval_seconds: int = 60
    registration: dict[str, str] = field(default_factory=dict)
    # Databases: "" means SQLite files in the gateway directory. A cluster of gateway
    # nodes shares the server configuration through a postgresql:// URL; the message
    # log stays per node (its own SQLite file, or its own PostgreSQL database).
    serverconf_url: str = ""
    messagelog_url: str = ""
    # FULL: a logged exchange survives a power loss, not only a crash of the process
    messagelog_synchronous: str = "FULL"
    # SQLite page cache of each message-log connection: the log's indexes must stay in memory
    messagelog_cache_mib: int = 64
    # Processes serving the IS and mutual-TLS ports. 1: the node's one process does everything;
    # N > 1: N worker processes serve, the main process supervises them and runs the jobs
    # (gateway.node._workers). One Python process runs Python on one core at a time.
    workers: int = 1

    def __post_init__(self) -> None:
        try:
            sid = parse_server(self.server)
        except IdentifierError as exc:
            raise SetupError(f"invalid server identifier {self.server!r}: {exc}") from exc
        if sid.instance != self.instance:
            raise SetupError("the server identifier's instance differs from the anchor's instance")
        for port in (self.is_port, self.is_tls_port, self.peer_port, self.ocsp_port, self.admin_port):
            if not 0 <= port <= 65535:
                raise SetupError(f"invalid port {port}")
        KeyType(self.key_type)
        for name in ("serverconf_url", "messagelog_url"):
            url = getattr(self, name)
            if url and "://" not in url:
                raise SetupError(f"{name} must be empty (SQLite in the gateway directory) or a database URL, not {url!r}")
        if not isinstance(self.messagelog_cache_mib, int) or not 0 <= self.messagelog_cache_mib <= 65536:
            raise SetupError(f"messagelog_cache_mib must be a whole number from 0 to 65536, not {self.messagelog_cache_mib!r}")
        if not isinstance(self.ocsp_interval_seconds, int) or not 60 <= self.ocsp_interval_seconds <= 86400:
            # X-Road's ocspFetchInterval is at least 60 s; a day is far beyond any freshness window
            raise SetupError(f"ocsp_interval_seconds must be a whole number from 60 to 86400, "
                             f"not {self.ocsp_interval_seconds!r}")
        if not isinstance(self.workers, int) or not 1 <= self.workers <= MAX_WORKERS:
            raise SetupError(f"workers must be a whole number from 1 to {MAX_WORKERS}, not {self.workers!r}")
        if self.messagelog_synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise SetupError(f"messagelog_synchronous must be OFF, NORMAL, FULL or EXTRA, not {self.messagelog_synchronous!r}")

    @property
    def server_id(self) -> SecurityServerId:
        return parse_server(self.server)

    def serverconf_database(self, directory: Path) -> str | Path:
        """Where the server configuration lives: the configured URL or ``DIR/serverconf.db``."""
        return self.serverconf_url or directory / "serverconf.db"

    def messagelog_database(self, directory: Path) -> str | Path:
        """Where this node's message log lives: the configured URL or ``DIR/messagelog.db``."""
        return self.messagelog_url or directory / "messagelog.db"

    def federation_allowed(self, instance: str) -> bool:
        return instance == self.instance or "all" in self.allowed_federations or \
            instance.upper() in (f.upper() for f in self.allowed_federations)

    def to_json(self) -> bytes:
        data = asdict(self)
        data["allowed_federations"] = list(self.allowed_federations)
        return json.dumps(data, indent=2).encode() + b"\n"

    @classmethod
    def load(cls, directory: Path) -> "NodeSettings":
        path = directory / SETTINGS_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise SetupError(f"{directory} is not a gateway directory (no {SETTINGS_FILE}); run `sild gateway init`") from None
        except ValueError as exc:
            raise SetupError(f"{path} is not valid JSON: {exc}") from exc
        data["allowed_federations"] = tuple(data.get("allowed_federations") or ())
        try:
            return cls(**data)
        except TypeError as exc:
            raise SetupError(f"{path}: {exc}") from exc

    def save(self, directory: Path) -> None:
        write_atomic(directory / SETTINGS_FILE, self.to_json(), mode=0o600)


def token_pin(directory: Path, pin: str | None = None) -> str:
    """The token PIN: argument, ``$SILD_TOKEN_PIN``, or ``DIR/token.pin`` (sandboxes only)."""
    if pin:
        return pin
    env = os.environ.get(PIN_ENV)
    if env:
        return env
    pin_file = directory / "token.pin"
    if pin_file.is_file():
        return pin_file.read_text().strip()
    raise SetupError(f"no token PIN: set {PIN_ENV} or write {pin_file}")
