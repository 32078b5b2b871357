"""A gateway takes on a new owner (after an approved ownerChange): identity and sign keys follow."""

from __future__ import annotations

import json

import pytest

from gateway.provision import add_member, change_owner, init_gateway, owner_sign_key, sign_keys
from gateway.settings import NodeSettings, SetupError
from trust.keys import KeyType
from trust.protocol import MemberId

PIN = "1234"
OLD = MemberId("EE", "GOV", "70000002")
NEW = MemberId("EE", "COM", "10000003")


def test_the_new_owner_signs_with_its_own_key_and_the_former_keeps_sign(tmp_path) -> None:
    gdir = tmp_path / "gw"
    init_gateway(gdir, anchor=None, server="EE/GOV/70000002/gw1", pin=PIN, key_type=KeyType.EC_P256)
    with pytest.raises(SetupError, match="holds no sign key for EE/COM/10000003"):
        change_owner(gdir, NEW)
    with pytest.raises(SetupError, match="already owns"):
        change_owner(gdir, OLD)
    with pytest.raises(SetupError, match="not a member of instance EE"):
        change_owner(gdir, MemberId("FI", "GOV", "1"))
    assert NodeSettings.load(gdir).server == "EE/GOV/70000002/gw1"  # refusals changed nothing
    add_member(gdir, NEW, pin=PIN)
    assert owner_sign_key(gdir) == "sign"  # before the change: the owner's key is `sign`
    assert change_owner(gdir, NEW).to_text() == "EE/COM/10000003/gw1"
    keys = sign_keys(gdir)
    assert keys["sign"] == OLD and keys[owner_sign_key(gdir)] == NEW and owner_sign_key(gdir) != "sign"
    # the former owner, still hosted, keeps its key when members are added later
    add_member(gdir, MemberId("EE", "COM", "10000004"), pin=PIN)
    add_member(gdir, OLD, pin=PIN)  # an existing key is reused, not replaced
    assert json.loads((gdir / "sign-keys.json").read_text())["sign"] == OLD.to_text()
    assert sorted(m.to_text() for m in sign_keys(gdir).values()) == [
        "EE/COM/10000003", "EE/COM/10000004", "EE/GOV/70000002"]
