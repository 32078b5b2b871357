"""Installing a new anchor (``gateway.conf.install_anchor``, ``sild gateway anchor install``) against a real
authority on a real HTTP server, and a configuration store that follows the new anchor and edited
``allowed_federations`` without being built again (issue 17)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from federation.anchor import anchor_fingerprint, write_anchor
from federation.model import AnchorInvalid
from gateway.cli import cli
from gateway.conf import AnchorRefused, ConfStore, install_anchor
from gateway.settings import NodeSettings
from trust.keys import KeyType

from tests.federation.client.client_support import Authority, sample_private, sample_shared
from tests.federation.directory_support import ConfServer, make_signing_identity

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def servers() -> Iterator[tuple[ConfServer, ConfServer]]:
    ee, fi = ConfServer().start(), ConfServer().start()
    try:
        yield ee, fi
    finally:
        ee.stop()
        fi.stop()


def _gateway(tmp_path: Path, authority: Authority, allowed: tuple[str, ...] = ()) -> Path:
    gdir = tmp_path / "gw"
    gdir.mkdir()
    (gdir / "anchor.xml").write_bytes(write_anchor(authority.anchor()))
    NodeSettings(server="EE/GOV/70000001/ss1", instance="EE", allowed_federations=allowed).save(gdir)
    return gdir


def _rotated(tmp_path: Path, old: Authority) -> Authority:
    """The authority after its signing-key rotation: same sources, a new key, a new generation published."""
    new = Authority("EE", make_signing_identity(tmp_path / "new-signer", KeyType.EC_P256, "conf-signer-2"), old.server,
                    generation=old.generation)
    new.publish(sample_shared("EE"), sample_private("EE"), expire=AT + HOUR)
    return new


def test_a_rotated_anchor_is_verified_installed_and_followed_by_the_store(tmp_path: Path, servers) -> None:
    old = Authority("EE", make_signing_identity(tmp_path / "signer", KeyType.EC_P256), servers[0])
    old.publish(sample_shared("EE"), sample_private("EE"), expire=AT + HOUR)
    gdir = _gateway(tmp_path, old)
    settings = NodeSettings.load(gdir)
    store = ConfStore(gdir, settings, clock=lambda: AT)
    assert store.refresh().ok

    new = _rotated(tmp_path, old)
    assert not store.refresh().ok  # the old anchor cannot verify what the new key signed
    with pytest.raises(AnchorRefused, match="sources do not answer with a configuration it verifies"):
        install_anchor(gdir, write_anchor(old.anchor()), at=AT)  # checked even when it is the one in use

    data = write_anchor(new.anchor())
    check = install_anchor(gdir, data, at=AT)
    assert check.fingerprint == anchor_fingerprint(data)
    assert check.previous_fingerprint == anchor_fingerprint(write_anchor(old.anchor()))
    assert check.source_url.startswith(servers[0].url("/"))
    assert (gdir / "anchor.xml").read_bytes() == data

    assert store.follow(settings)  # the running node's check: the new file is taken into use
    assert store.anchor.raw == data
    assert store.refresh().ok
    assert not store.follow(settings)  # nothing changed since


def test_an_anchor_of_another_instance_or_no_anchor_is_refused_and_nothing_changes(tmp_path: Path, servers) -> None:
    ee = Authority("EE", make_signing_identity(tmp_path / "ee", KeyType.EC_P256), servers[0])
    fi = Authority("FI", make_signing_identity(tmp_path / "fi", KeyType.EC_P256), servers[1])
    ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + HOUR)
    fi.publish(sample_shared("FI"), sample_private("FI"), expire=AT + HOUR)
    gdir = _gateway(tmp_path, ee)
    before = (gdir / "anchor.xml").read_bytes()
    with pytest.raises(AnchorRefused, match="the anchor is of instance FI, this gateway is of instance EE"):
        install_anchor(gdir, write_anchor(fi.anchor()), at=AT)
    with pytest.raises(AnchorInvalid):
        install_anchor(gdir, b"<not-an-anchor/>", at=AT)
    assert (gdir / "anchor.xml").read_bytes() == before


def test_cli_installs_prints_the_fingerprint_and_refuses_in_one_line(tmp_path: Path, servers) -> None:
    old = Authority("EE", make_signing_identity(tmp_path / "signer", KeyType.EC_P256), servers[0])
    old.publish(sample_shared("EE"), sample_private("EE"), expire=dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc))
    gdir = _gateway(tmp_path, old)
    fi = Authority("FI", make_signing_identity(tmp_path / "fi", KeyType.EC_P256), servers[1])
    other = tmp_path / "fi.xml"
    other.write_bytes(write_anchor(fi.anchor()))
    runner = CliRunner()

    refused = runner.invoke(cli, ["gateway", "anchor", "install", str(gdir), str(other)])
    assert refused.exit_code == 1
    assert refused.output.strip().count("\n") == 0
    assert "instance FI" in refused.output and "[gateway.anchor.refused]" in refused.output

    new = Authority("EE", make_signing_identity(tmp_path / "new", KeyType.EC_P256, "conf-signer-2"), servers[0],
                    generation=old.generation)
    new.publish(sample_shared("EE"), sample_private("EE"), expire=dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc))
    fresh = tmp_path / "new.xml"
    fresh.write_bytes(write_anchor(new.anchor()))
    done = runner.invoke(cli, ["gateway", "anchor", "install", str(gdir), str(fresh)])
    assert done.exit_code == 0, done.output
    assert f"anchor SHA-224: {anchor_fingerprint(fresh.read_bytes())}" in done.output
    assert (gdir / "anchor.xml").read_bytes() == fresh.read_bytes()
    again = runner.invoke(cli, ["gateway", "anchor", "install", str(gdir), str(fresh)])
    assert "already installed" in again.output


def test_an_edit_of_allowed_federations_downloads_the_partner_without_a_new_store(tmp_path: Path, servers) -> None:
    fi = Authority("FI", make_signing_identity(tmp_path / "fi", KeyType.EC_P256), servers[1], name="externalconf")
    fi.publish(sample_shared("FI"), None, expire=AT + HOUR)
    ee = Authority("EE", make_signing_identity(tmp_path / "ee", KeyType.EC_P256), servers[0])
    ee.publish(sample_shared("EE"), sample_private("EE", anchors=(fi.anchor(),)), expire=AT + HOUR)
    gdir = _gateway(tmp_path, ee)
    store = ConfStore(gdir, NodeSettings.load(gdir), clock=lambda: AT)
    store.refresh()
    assert set(store.current()) == {"EE"}

    allowed = NodeSettings(**{**NodeSettings.load(gdir).__dict__, "allowed_federations": ("FI",)})
    allowed.save(gdir)
    assert store.follow(NodeSettings.load(gdir))
    store.refresh()
    assert set(store.current()) == {"EE", "FI"}

    none = NodeSettings.load(gdir)
    none = NodeSettings(**{**none.__dict__, "allowed_federations": ()})
    assert store.follow(none)
    assert set(store.current()) == {"EE"}  # withdrawn at once, before the next download


def test_each_configuration_and_replaced_anchor_is_kept_for_evidence(tmp_path: Path, servers) -> None:
    """After a rotation the history holds a run signed with each key, and the replaced anchor is kept:
    a record of either period gets the directory its own period's anchor verifies."""
    import json

    from federation.directory import parse_directory, verify_signature
    from gateway.conf import ConfHistory

    now = [AT]
    old = Authority("EE", make_signing_identity(tmp_path / "signer", KeyType.EC_P256), servers[0])
    old.publish(sample_shared("EE"), sample_private("EE"), expire=AT + HOUR)
    gdir = _gateway(tmp_path, old)
    settings = NodeSettings.load(gdir)
    store = ConfStore(gdir, settings, clock=lambda: now[0])
    assert store.refresh().ok
    now[0] = AT + dt.timedelta(minutes=10)
    new = _rotated(tmp_path, old)
    install_anchor(gdir, write_anchor(new.anchor()), at=now[0])
    assert store.follow(settings) and store.refresh().ok

    history = ConfHistory(gdir)
    runs = history.runs("EE")
    assert [r.first_seen for r in runs] == [AT, AT + dt.timedelta(minutes=10)]
    before = dict(history.carried(AT + dt.timedelta(minutes=5), ["EE"]))["EE/directory"]
    after = dict(history.carried(AT + dt.timedelta(minutes=11), ["EE"]))["EE/directory"]
    verify_signature(parse_directory(before), old.anchor())
    verify_signature(parse_directory(after), new.anchor())
    with pytest.raises(Exception, match="does not list"):
        verify_signature(parse_directory(before), new.anchor())

    kept = json.loads((gdir / "anchor-history" / "anchors.json").read_text())
    assert len(kept) == 1 and kept[0]["fingerprint"] == anchor_fingerprint(write_anchor(old.anchor()))
    assert kept[0]["replaced"] == now[0].isoformat()
    assert (gdir / "anchor-history" / kept[0]["file"]).read_bytes() == write_anchor(old.anchor())
    listed = CliRunner().invoke(cli, ["gateway", "anchor", "history", str(gdir)])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 2 and f".. {now[0].isoformat()}  {kept[0]['fingerprint']}" in lines[0]
    assert lines[1].startswith(f"{now[0].isoformat()} .. now  {anchor_fingerprint(write_anchor(new.anchor()))}")
