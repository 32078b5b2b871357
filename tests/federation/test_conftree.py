"""Stored configuration trees: X-Road's (versions 2 to 6, federated) and refusals."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from federation.conftree import load_tree
from federation.model import ConfOutdated, ConfTreeInvalid
from trust.pki import TrustPolicy

from tests.support.conformance import XROAD

PARSED = XROAD / "globalconf" / "parsed"

# tree -> (own instance, own version, {federated instance: version}); instances are the
# instanceIdentifier inside each folder's shared-params.xml
GOOD = {
    "globalconf_good_v2": ("EE", 2, {"bar": 2, "foo": 2}),
    "globalconf_good_v3": ("EE", 3, {"bar": 3, "foo_v2": 2}),
    "globalconf_good_v4": ("EE", 4, {"bar": 3, "baz_v3": 3, "foo_v2": 2}),
    "globalconf_good_v5": ("EE", 5, {"bar": 3, "baz_v3": 3, "foo_v2": 2, "qux_v4": 4}),
    "globalconf_good_v6": ("EE", 6, {"bar": 3, "baz_v3": 3, "foo_v2": 2, "qux_v4": 4, "quux_v5": 5}),
    "globalconf_good2_v3": ("DEV", 3, {}),
}


@pytest.mark.parametrize("name", sorted(GOOD), ids=sorted(GOOD))
@pytest.mark.conformance(area="directory", vector="globalconf/parsed/{name}",
                         expected=lambda p: "loads: instances " + ", ".join([GOOD[p["name"]][0], *GOOD[p["name"]][2]]))
def test_good_trees_load_with_their_federated_instances(name: str) -> None:
    own, version, federated = GOOD[name]
    tree = load_tree(PARSED / name)
    assert tree.own_instance == own
    assert tree.own.version == version
    assert {k: v.version for k, v in tree.federated.items()} == federated
    assert tree.own.layout == "xroad"
    if name != "globalconf_good2_v3":
        assert tree.own.private is not None and tree.own.private.instance == own
        assert tree.own.expires_at == dt.datetime(2124, 5, 20, 17, 42, 55, tzinfo=dt.timezone.utc)
    for instance in federated:
        assert tree.instances[instance].private is None  # a partner's private parameters are never used
    policies = tree.to_trust_policies()
    assert set(policies) == {own, *federated}
    assert all(isinstance(p, TrustPolicy) and p.instance == k for k, p in policies.items())


def test_trust_policy_for_the_asic_vectors() -> None:
    policies = load_tree(PARSED / "globalconf_good2_v3").to_trust_policies()
    dev = policies["DEV"]
    assert len(dev.cas) == 1 and dev.cas[0].ocsp_responders
    assert dev.tsas


BAD = {
    "globalconf_malformed": "not well-formed",
    "globalconf_empty": "no shared parameters of its own instance EE",
    "globalconf_missing_identifier": "instance-identifier",
}


@pytest.mark.parametrize("name", sorted(BAD), ids=sorted(BAD))
@pytest.mark.conformance(area="directory", vector="globalconf/parsed/{name}",
                         expected=lambda p: f"refused: {BAD[p['name']]}")
def test_bad_trees_are_refused(name: str) -> None:
    with pytest.raises(ConfTreeInvalid, match=BAD[name]):
        load_tree(PARSED / name)


def test_damaged_copy_of_a_good_tree_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "tree"
    shutil.copytree(PARSED / "globalconf_good_v6", copy)
    load_tree(copy)
    (copy / "bar" / "shared-params.xml.metadata").chmod(0o644)
    (copy / "bar" / "shared-params.xml.metadata").write_text("{not json")
    with pytest.raises(ConfTreeInvalid, match="not JSON"):
        load_tree(copy)


def test_current_drops_expired_partners_and_stops_on_own_expiry() -> None:
    tree = load_tree(PARSED / "globalconf_good_v6")
    now = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
    assert set(tree.current(now).shared) == set(tree.instances)
    with pytest.raises(ConfOutdated):
        tree.current(dt.datetime(2124, 5, 21, tzinfo=dt.timezone.utc))
    with pytest.raises(ValueError):
        tree.current(dt.datetime(2026, 6, 1))


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfTreeInvalid):
        load_tree(tmp_path / "absent")
