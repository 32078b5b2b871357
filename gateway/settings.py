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
from typing import Any, Iterable

from trust.errors import IdentifierError
from trust.keys import PIN_ENV, KeyType, write_atomic
from trust.protocol import SecurityServerId, parse_server

from gateway.errors import GatewayError

SETTINGS_FILE = "gateway.json"
MAX_WORKERS = 64  # processes per gateway node; more would only multiply memory and connections


class SetupError(GatewayError):
    code = "gateway.setup.error"


def setting(default: Any, doc: str) -> Any:
    """A field of :class:`NodeSettings` with its documentation.

    ``docs/configuration.md`` renders its table of ``gateway.json`` from these texts
    (``python -m tools.docs``), and a test fails when the page and the class differ: the
    one description of a setting is the one beside its default.
    """
    if isinstance(default, dict):
        return field(default_factory=dict, metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class NodeSettings:
    """What ``gateway.json`` holds; validated when built."""

    server: str = field(metadata={"doc": "This gateway's identifier INSTANCE/CLASS/MEMBER/SERVERCODE "
                                         "(`gateway init --server`)."})
    instance: str = field(metadata={"doc": "The instance of the configuration anchor; the server identifier's "
                                           "instance must be the same."})
    is_host: str = setting("127.0.0.1", "Address the IS port (and the IS TLS port) listens on: the information "
                           "systems of the members served call it. Loopback by default; `0.0.0.0` or an internal "
                           "address when they run on other machines (`gateway init --is-listen`).")
    is_port: int = setting(8080, "Plain-HTTP port for information systems (SOAP `POST /`, REST `/r1/...`, "
                           "metaservices).")
    is_tls_port: int = setting(0, "HTTPS port for information systems (needed by `https` / `https-cert` "
                               "clients); 0 = off.")
    peer_host: str = setting("127.0.0.1", "Address the mutual-TLS port (and the OCSP-responses port) listens "
                             "on: other gateways call it. `gateway init` makes it `0.0.0.0` when `--address` names "
                             "a host other than loopback (`--peer-listen` to choose).")
    peer_port: int = setting(5500, "Mutual-TLS port between gateways (X-Road's 5500).")
    ocsp_port: int = setting(0, "X-Road's plain-HTTP OCSP-responses port (5577) on `peer_host`; 0 = OCSP "
                             "responses only on the mutual-TLS port.")
    admin_port: int = setting(0, "Admin API port: HTTPS with API keys (`gateway init --admin-port`); 0 = off.")
    health_port: int = setting(0, "Plain-HTTP health-check port a load balancer polls (X-Road's 5588), on "
                               "`peer_host`: `GET /health` answers 200 `ok`, or 503 with the reason when the node "
                               "would refuse traffic or drains (docs/scaling.md); 0 = off.")
    admin_listen: str = setting("127.0.0.1", "Address the admin API listens on: loopback by default; an internal "
                                "address (or `0.0.0.0`) to administer the gateway from other machines "
                                "(`gateway init --admin-listen`).")
    admin_tls_cert: str = setting("", "The admin API's TLS certificate (PEM, chain may follow; a path, relative "
                                  "to the gateway directory): empty = `admin-tls/admin.crt`, self-signed, made by "
                                  "`gateway init` or at the first start.")
    admin_tls_key: str = setting("", "The private key (PEM, unencrypted, mode 0600) of `admin_tls_cert`; given "
                                 "together with it.")
    public_address: str = setting("", "The address registered in the global configuration (host or "
                                  "host:port, `--address`): where other gateways reach the mutual-TLS port.")
    allowed_federations: tuple[str, ...] = setting((), "Federated instances whose configuration this gateway "
                                                   "uses: `\"none\"`, `\"all\"` or instance codes such as "
                                                   "`\"EE,FI\"` (`--allowed-federations`, same syntax).")
    key_type: str = setting(KeyType.RSA2048.value, "Type of the keys `gateway init` made (`--key-type`).")
    conf_interval_seconds: int = setting(60, "How often the global configuration is downloaded.")
    ocsp_interval_seconds: int = setting(600, "How often fresh OCSP responses for the own certificates "
                                         "are fetched.")
    timestamp_interval_seconds: int = setting(60, "How often the message log's records that wait for a "
                                              "timestamp get one (one batch per run).")
    registration: dict[str, str] = setting({}, "State of the registration request (`gateway register` "
                                           "writes it; do not edit).")
    # Databases: "" means SQLite files in the gateway directory. A cluster of gateway
    # nodes shares the server configuration through a postgresql:// URL; the message
    # log stays per node (its own SQLite file, or its own PostgreSQL database).
    serverconf_url: str = setting("", "Database of the server configuration: empty = `DIR/serverconf.db` "
                                  "(SQLite); a `postgresql://` URL shared by the nodes of a cluster.")
    messagelog_url: str = setting("", "Database of this node's message log: empty = `DIR/messagelog.db` "
                                  "(SQLite), or a database URL of its own.")
    messagelog_synchronous: str = setting("FULL", "SQLite `synchronous` of the message log (OFF, NORMAL, FULL, "
                                          "EXTRA): FULL, a logged exchange survives a power loss, not only a crash.")
    messagelog_cache_mib: int = setting(64, "SQLite page cache of each message-log connection, MiB (0-65536): "
                                        "the log's indexes must stay in memory.")
    message_body_logging: bool = setting(True, "Keep whole messages in the message log (X-Road's "
                                         "`message-body-logging`); false keeps only their X-Road headers (no SOAP "
                                         "body, REST body or attachments; such records are no evidence: their "
                                         "containers do not verify). A subsystem's own setting overrides it "
                                         "(`gateway client set DIR CLIENT --log-body`: `on`, `off` or `default`).")
    message_body_logging_remote_overrides: tuple[str, ...] = setting((), "Remote provider subsystems "
                                                                     "(`INSTANCE/CLASS/MEMBER/SUBSYSTEM`) whose "
                                                                     "messages are logged the other way round from "
                                                                     "`message_body_logging` (X-Road's `enabled-` / "
                                                                     "`disabled-body-logging-remote-producer-"
                                                                     "subsystems`).")
    archive_interval_seconds: int = setting(21600, "How often the message log's timestamped records are "
                                            "archived into chained ZIP files (X-Road: every 6 hours); 60-604800. "
                                            "Changes take effect in a running node.")
    archive_threshold_mib: int = setting(256, "Archive early when the timestamped records not archived yet hold "
                                         "more than this many MiB in the database (checked every minute); 0 = "
                                         "by schedule only. Changes take effect in a running node.")
    archive_dir: str = setting("", "Directory of the archive files: empty = `DIR/archive`; absolute, or relative "
                               "to the gateway directory; may be a network mount (files are written under a "
                               "temporary name, fsynced, and renamed only once the database records them). A "
                               "running node writes its next archive there; the chain continues from the last "
                               "archive, so keep the old files with the new ones. Each node of a cluster needs a "
                               "directory of its own.")
    messagelog_keep_days: int = setting(30, "Archived records stay this many days in the database, then are "
                                        "deleted (X-Road's `keep-records-for`); 0-3650, 0 = deleted once "
                                        "archived. Records not archived "
                                        "(or not timestamped) are never deleted. Changes take effect in a "
                                        "running node.")
    timestamping_services: tuple[str, ...] = setting((), "The approved TSAs this gateway stamps with, in order "
                                                     "of use (URLs or names, comma-separated); the next one is asked "
                                                     "when one fails. Empty = every TSA the global configuration "
                                                     "approves, in its order. Each must be approved "
                                                     "(`sild gateway tsa list DIR`). Changes take effect in a "
                                                     "running node.")
    workers: int = setting(1, f"Processes serving the IS and mutual-TLS ports (1-{MAX_WORKERS}): 1, the node's "
                           "one process does everything; N > 1, N worker processes serve and the main process "
                           "supervises them and runs the jobs. One Python process runs on one core at a time.")

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_federations", parse_federations(self.allowed_federations))
        try:
            sid = parse_server(self.server)
        except IdentifierError as exc:
            raise SetupError(f"invalid server identifier {self.server!r}: {exc}") from exc
        if sid.instance != self.instance:
            raise SetupError("the server identifier's instance differs from the anchor's instance")
        for port in (self.is_port, self.is_tls_port, self.peer_port, self.ocsp_port, self.admin_port, self.health_port):
            if not 0 <= port <= 65535:
                raise SetupError(f"invalid port {port}")
        KeyType(self.key_type)
        if bool(self.admin_tls_cert) != bool(self.admin_tls_key):
            raise SetupError("admin_tls_cert and admin_tls_key are given together (or neither: a generated certificate)")
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
        for name, low, high in (("archive_interval_seconds", 60, 604800), ("archive_threshold_mib", 0, 1048576),
                                ("messagelog_keep_days", 0, 3650)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise SetupError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
        if not isinstance(self.workers, int) or not 1 <= self.workers <= MAX_WORKERS:
            raise SetupError(f"workers must be a whole number from 1 to {MAX_WORKERS}, not {self.workers!r}")
        object.__setattr__(self, "timestamping_services", tsa_choice(self.timestamping_services))
        object.__setattr__(self, "message_body_logging_remote_overrides",
                           remote_overrides(self.message_body_logging_remote_overrides))
        if not isinstance(self.message_body_logging, bool):
            raise SetupError(f"message_body_logging must be true or false, not {self.message_body_logging!r}")
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

    def archive_directory(self, directory: Path) -> Path:
        """Where the message log's archive files go: ``archive_dir`` (relative to ``directory``) or ``DIR/archive``."""
        return directory / (self.archive_dir or "archive")

    def federation_allowed(self, instance: str) -> bool:
        return instance == self.instance or "all" in self.allowed_federations or \
            instance.upper() in (f.upper() for f in self.allowed_federations)

    def to_json(self) -> bytes:
        data = asdict(self)
        data["allowed_federations"] = federations_text(self.allowed_federations)
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
        try:
            return cls(**data)
        except TypeError as exc:
            raise SetupError(f"{path}: {exc}") from exc

    def save(self, directory: Path) -> None:
        write_atomic(directory / SETTINGS_FILE, self.to_json(), mode=0o600)


def remote_overrides(value: Iterable[str] | str) -> tuple[str, ...]:
    """The remote providers of ``message_body_logging_remote_overrides``: subsystems, as X-Road allows."""
    from trust.protocol import SubsystemId, parse_client

    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    out = []
    for text in value:
        try:
            client = parse_client(str(text).strip())
        except IdentifierError as exc:
            raise SetupError(f"message_body_logging_remote_overrides: {exc}") from exc
        if not isinstance(client, SubsystemId):
            raise SetupError(f"message_body_logging_remote_overrides names subsystems, not the member {text!r}")
        out.append(client.to_text())
    return tuple(sorted(set(out)))
#: Settings fixed by what a node's processes bound or opened at start: changed, they take
#: effect at the next restart (a running node follows the others, ``gateway.node._live``).
RESTART_SETTINGS = ("server", "instance", "is_host", "is_port", "is_tls_port", "peer_host", "peer_port", "ocsp_port",
                    "admin_port", "admin_listen", "admin_tls_cert", "admin_tls_key", "key_type", "serverconf_url",
                    "messagelog_url", "messagelog_synchronous", "messagelog_cache_mib", "workers",
                    "health_port")


def restart_only(before: NodeSettings, after: NodeSettings) -> list[str]:
    """The settings that differ between ``before`` and ``after`` and cannot change in a running node.

    ``server`` is one of them unless only its owner changed (an approved owner change,
    ``sild gateway owner apply``): the same instance and server code keep the same auth
    certificate, ports and databases, so the node serves as the new owner at once
    (:meth:`gateway.node._live.NodeLive._follow_owner`).
    """
    return [name for name in RESTART_SETTINGS if getattr(before, name) != getattr(after, name)
            and not (name == "server" and owner_change_only(before, after))]


def owner_change_only(before: NodeSettings, after: NodeSettings) -> bool:
    """``after`` names the same gateway (instance, server code) as ``before`` under another owner."""
    old, new = before.server_id, after.server_id
    return old != new and (old.instance, old.server_code) == (new.instance, new.server_code) \
        and before.instance == after.instance


def with_changes(settings: NodeSettings, changes: dict[str, Any]) -> NodeSettings:
    """``settings`` with ``changes`` (name -> value, numbers also as text), validated.

    One way for ``sild gateway set`` and ``PATCH /api/v1/settings`` to change
    ``gateway.json``: an unknown name, ``registration`` (written by ``gateway
    register``), a word where a number belongs or an invalid value is a
    :class:`SetupError` with a one-line reason. The identity (``server``,
    ``instance``) is refused when it would change: a new owner comes with the
    approved owner change (``gateway owner apply``, which also keeps the former
    owner's sign key apart), another server or instance is another registration.
    """
    current = settings.__dict__
    typed: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in current or name == "registration":
            editable = ", ".join(n for n in current if n != "registration")
            raise SetupError(f"{name!r} is not one of the settings {editable}")
        if name in ("server", "instance") and value != current[name]:
            raise SetupError(f"{name} is this gateway's identity and is not changed with set; a new owner: "
                             "`.venv/bin/sild gateway owner apply DIR` after the authority approved the owner change")
        if isinstance(current[name], bool):  # before int: a bool is an int to Python
            value = _flag(name, value)
        elif isinstance(current[name], int) and not isinstance(value, int):
            try:
                value = int(str(value))
            except ValueError:
                raise SetupError(f"{name} wants a whole number, not {value!r}") from None
        elif isinstance(current[name], tuple) and isinstance(value, (list, tuple)):
            value = tuple(str(v) for v in value)  # a JSON list (PATCH) for a list setting
        elif not isinstance(current[name], int) and not isinstance(value, str):
            raise SetupError(f"{name} wants text, not {value!r}")
        typed[name] = value
    return NodeSettings(**{**current, **typed})


def tsa_choice(value: Iterable[str] | str | None) -> tuple[str, ...]:
    """``timestamping_services`` as kept: URLs or names in the given order, once each (text: comma-separated)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    out: list[str] = []
    for item in value:
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return tuple(out)


def _flag(name: str, value: Any) -> bool:
    """A switch as ``sild gateway set NAME=...`` or a JSON body gives it: true/false, on/off, yes/no, 1/0."""
    if isinstance(value, bool):
        return value
    words = {"true": True, "on": True, "yes": True, "1": True, "false": False, "off": False, "no": False, "0": False}
    if str(value).strip().lower() not in words:
        raise SetupError(f"{name} wants true or false, not {value!r}")
    return words[str(value).strip().lower()]


def parse_federations(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """``allowed_federations`` as kept: ``()`` for none, ``("all",)``, or upper-case instance codes.

    One syntax for the CLI (``--allowed-federations``) and ``gateway.json``: ``"none"``,
    ``"all"`` or ``"EE,FI"``, the syntax of X-Road's ``allowed-federations`` and of
    ``sild conf fetch``. A JSON list (``["FI"]``, what older versions wrote) reads the same.
    """
    from federation.client import AllowedFederations

    try:
        allowed = AllowedFederations.parse(value)
    except ValueError as exc:
        raise SetupError(f"{exc} (use none, all, or instance codes such as EE,FI)") from None
    return ("all",) if allowed.allow_all else tuple(sorted(code.upper() for code in allowed.instances))


def federations_text(federations: tuple[str, ...]) -> str:
    """The text form of :func:`parse_federations`'s result: ``none``, ``all`` or ``EE,FI``."""
    return ",".join(federations) or "none"


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
