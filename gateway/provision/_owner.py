"""A gateway takes on the owner that the authority registered for it (X-Road's owner change).

After the authority approves an ``ownerChange`` request, its configuration lists the
gateway under the new owner: same server code, same auth certificate. The gateway's
own identity follows when its operator says so (``sild gateway owner apply DIR``):
``server`` in ``gateway.json`` names the new owner, and ``sign-keys.json`` keeps each
sign key with the member it certifies. The former owner's key stays ``sign`` (its
certificate names that member, and the token's key ids never change); the map says
so explicitly, because without an entry ``sign`` is taken to be the owner's key
(:func:`gateway.provision.sign_keys`). The new owner signs with the key that
``sild gateway add-member`` made for it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from trust.keys import write_atomic
from trust.protocol import MemberId, SecurityServerId

from gateway.settings import NodeSettings, SetupError

from ._directory import SIGN_KEYS_FILE, sign_keys


def owner_sign_key(directory: Path) -> str:
    """The key id of the owner's sign key (``sign`` until an owner change)."""
    owner = NodeSettings.load(directory).server_id.owner
    return next(k for k, m in sign_keys(directory).items() if m == owner)


def change_owner(directory: Path, new_owner: MemberId) -> SecurityServerId:
    """Make ``new_owner`` this gateway's owner; refused unless the gateway holds its sign key."""
    directory = Path(directory)
    settings = NodeSettings.load(directory)
    if new_owner == settings.server_id.owner:
        raise SetupError(f"{new_owner.to_text()} already owns this gateway")
    if new_owner.instance != settings.instance:
        raise SetupError(f"{new_owner.to_text()} is not a member of instance {settings.instance}")
    keys = sign_keys(directory)
    if new_owner not in keys.values():
        raise SetupError(f"this gateway holds no sign key for {new_owner.to_text()} "
                         f"(run `.venv/bin/sild gateway add-member {directory} --member {new_owner.to_text()}`)")
    # every key with its member, explicitly: ``sign`` then stays the former owner's key
    write_atomic(directory / SIGN_KEYS_FILE, json.dumps({k: m.to_text() for k, m in keys.items()}, indent=2).encode())
    server = new_owner.server(settings.server_id.server_code)
    replace(settings, server=server.to_text()).save(directory)
    return server


__all__ = ["change_owner", "owner_sign_key"]
