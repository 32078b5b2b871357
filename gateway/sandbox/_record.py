"""What a sandbox directory holds, so that it can be started again as it was.

``sandbox.json`` says that a sandbox runs and where (``down`` removes it).
``sandbox-setup.json`` outlives ``down``: it is written once the sandbox has been
built and healthy, and records every server process as the ``sild`` command that
serves it (arguments, added environment, its directory) plus the description that
``sandbox.json`` repeats at every start. ``up`` on a directory with that record starts
the same commands again over the same data; a directory without it that is not empty
is not a sandbox, and ``up`` says so rather than build over someone's files.

The record also holds the sandbox's login to the admin web UIs (:func:`add_ui_users`):
one fixed, documented user name and a password drawn at random for each sandbox, so
that nobody can sign in to a sandbox with a password read in the docs.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from trust.keys import write_atomic

from gateway.errors import GatewayError

from ._hints import sild_hint
from ._processes import WATCHDOG

STATE_FILE = "sandbox.json"
SETUP_FILE = "sandbox-setup.json"
# the order in which a sandbox's servers start: each needs the ones before it
START_ORDER = ("trust-", "central-", "backends", "gw-")
UI_USER = "sandbox-admin"  # the sandbox's user of every admin web UI, with all five roles


class SandboxError(GatewayError):
    code = "gateway.sandbox.error"


def classify(root: Path) -> str:
    """``"new"`` (missing or empty) or ``"built"`` (a sandbox to start again); anything
    else is refused with a one-line message."""
    if not root.exists():
        return "new"
    if not root.is_dir():
        raise SandboxError(f"{root} is a file, not a sandbox directory")
    if (root / SETUP_FILE).is_file():
        return "built"
    if not any(root.iterdir()):
        return "new"
    if (root / "EE" / "trust").is_dir() or (root / "pids").is_dir():
        raise SandboxError(f"{root} holds a sandbox without {SETUP_FILE} (its set-up did not finish, or an "
                           f"older sild made it); remove the directory and run `{sild_hint('sandbox', 'up', root)}`")
    raise SandboxError(f"{root} is not empty and holds no sandbox (no {SETUP_FILE}); "
                       "give a new or empty directory")


def record_setup(root: Path, state: dict[str, Any]) -> None:
    """Write ``sandbox-setup.json`` from the pid files of the processes just started."""
    prefix_len = len(_sild_prefix())
    processes = []
    for path in sorted((root / "pids").glob("*.pid"), key=lambda p: _start_rank(p.stem)):
        if path.stem == WATCHDOG:
            continue
        data = json.loads(path.read_text())
        if data["argv"][:prefix_len] != _sild_prefix():
            continue  # a cluster's HAProxy and PostgreSQL: not sild commands, not started again
        processes.append({"name": path.stem, "args": data["argv"][prefix_len:], "env": data.get("env") or {},
                          "directory": _directory_of(path.stem, state)})
    write_atomic(root / SETUP_FILE, json.dumps({"processes": processes, "state": state}, indent=2).encode() + b"\n")


def load_setup(root: Path) -> dict[str, Any]:
    try:
        setup: dict[str, Any] = json.loads((root / SETUP_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise SandboxError(f"cannot read {root / SETUP_FILE}: {exc}") from None
    return setup


def find_process(setup: dict[str, Any], node: str) -> dict[str, Any]:
    """The recorded process ``node`` names: a process name (``central-EE``, ``backends``,
    ``gw-EE_GOV_70000001_gw1``), a gateway id (``EE/GOV/70000001/gw1``) or a node's
    directory relative to the sandbox (``EE/gw-70000001-gw1``)."""
    wanted = node.strip().rstrip("/")
    for proc in setup["processes"]:
        names = {proc["name"], proc["name"].replace("_", "/").removeprefix("gw-")}
        directory = Path(proc["directory"])
        names.add(str(directory.relative_to(Path(setup["state"]["directory"]))))
        if wanted in names:
            return dict(proc)
    known = ", ".join(p["name"] for p in setup["processes"])
    raise SandboxError(f"no node {node!r} in this sandbox; its nodes are {known} (or a gateway id)")


def _sild_prefix() -> list[str]:
    from gateway.node import sild_command

    return sild_command()


def _start_rank(name: str) -> tuple[int, str]:
    rank = next((i for i, prefix in enumerate(START_ORDER) if name.startswith(prefix)), len(START_ORDER))
    return rank, name


def _directory_of(name: str, state: dict[str, Any]) -> str:
    root = Path(state["directory"])
    for gateway in state["gateways"]:
        if gateway["process"] == name:
            return str(gateway["directory"])
    if name == "backends":
        return str(root / "backends")
    kind, _, instance = name.partition("-")
    return str(root / instance / kind)


def add_ui_users(state: dict[str, Any]) -> dict[str, Any]:
    """Give every gateway's and every authority's web UI the user :data:`UI_USER` with every
    role and one new random password; returns ``state`` with the login and each UI's URL.

    The accounts are made in the stores the UIs read (the gateway's server configuration,
    the authority's registry) as ``sild gateway user add`` and ``sild central user add``
    make them; the servers already run, and a login reads the store afresh.
    """
    from trust.accounts import ROLE_NAMES, Accounts
    from federation.central.registry import ACCOUNT_TABLES, CentralDir
    from gateway.db import UI_ACCOUNTS, open_engine
    from gateway.settings import NodeSettings

    password = secrets.token_urlsafe(18)  # 24 characters; the UIs ask for at least 12
    for gateway in state["gateways"]:
        directory = Path(gateway["directory"])
        engine = open_engine(NodeSettings.load(directory).serverconf_database(directory))
        try:
            Accounts(engine, UI_ACCOUNTS).add_user(UI_USER, password, ROLE_NAMES)
        finally:
            engine.dispose()
        gateway["ui_url"] = gateway["admin_url"] + "/ui/"
    for instance in state["instances"].values():
        home = CentralDir(Path(instance["central_dir"]))
        try:
            Accounts(home.registry().engine, ACCOUNT_TABLES).add_user(UI_USER, password, ROLE_NAMES)
        finally:
            home.close()
        instance["ui_url"] = instance["api_url"] + "/ui/"
        instance["api_cert_file"] = str(Path(instance["central_dir"]) / "api-tls" / "api.crt")
    return dict(state, ui={"user": UI_USER, "password": password})
