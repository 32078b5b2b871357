"""A third country joins the sandbox's federation: ``sild sandbox federate DIR ANCHOR``.

Federating an instance by hand takes three kinds of step on the sandbox's side:
each authority trusts the partner's external anchor (what ``sild central
trust-anchor add`` does), each gateway is allowed to use the partner's configuration
(``allowed_federations`` in its ``gateway.json``), and each gateway restarts to read
that setting. This command does all of it, with the same library calls the
individual commands make, and returns once every gateway of the sandbox answers
``listClients`` for the new instance, i.e. holds its verified configuration. The
partner's authority must be serving (its anchor is verified by downloading its
configuration). See docs/operator-guide.md, "Extending the sandbox with a third
country (LV)".
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from trust.infra import utc_now
from trust.keys import write_atomic

from gateway.settings import NodeSettings

from ._hints import sild_hint
from ._record import STATE_FILE, SandboxError, load_setup
from ._restart import http_ok, restart_node, wait


def federate(root: Path, anchor_file: Path, *, timeout: float = 120.0) -> dict[str, Any]:
    """Make the instance of ``anchor_file`` (an external anchor) a partner of every
    instance and gateway of the running sandbox in ``root``; returns the new ``sandbox.json``."""
    from federation.anchor import parse_anchor
    from federation.central.registry import CentralDir, add_trusted_anchor

    data = anchor_file.read_bytes()
    partner = parse_anchor(data).instance
    setup = load_setup(root)
    if not (root / STATE_FILE).is_file():
        raise SandboxError(f"the sandbox in {root} is not running; start it with "
                           f"`{sild_hint('sandbox', 'up', root)}` first")
    state: dict[str, Any] = setup["state"]
    if partner in state["instances"]:
        raise SandboxError(f"{partner} is an instance of the sandbox itself, not a partner")
    for instance, info in state["instances"].items():
        home = CentralDir(Path(info["central_dir"]))
        try:
            add_trusted_anchor(home, data, now=utc_now())
        finally:
            home.close()
    restarted = state
    for gateway in state["gateways"]:
        directory = Path(gateway["directory"])
        settings = NodeSettings.load(directory)
        if not settings.federation_allowed(partner):
            NodeSettings(**{**settings.__dict__,
                            "allowed_federations": (*settings.allowed_federations, partner)}).save(directory)
        restarted = restart_node(root, gateway["process"], timeout)
    for gateway in restarted["gateways"]:
        wait(f"gateway {gateway['id']} (configuration of {partner})",
             functools.partial(http_ok, f"{gateway['is_url']}/listClients?xRoadInstance={partner}"), timeout, root)
    restarted["partners"] = sorted({*restarted.get("partners", ()), partner})
    write_atomic(root / STATE_FILE, json.dumps(restarted, indent=2).encode() + b"\n")
    return restarted
