"""The configuration client against a real HTTP(S) authority on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import random
import ssl
import threading
from pathlib import Path
from typing import Iterator

import pytest

from federation.client import (
    AllowedFederations, ClientConfig, ConfigurationClient, RefreshReport, schedule_refresh,
)
from federation.conftree import load_tree
from federation.model import AnchorSource, ConfigurationAnchor
from federation.model import ConfOutdated
from trust.keys import KeyType

from tests.federation.client.client_support import Authority, sample_private, sample_shared
from tests.federation.directory_support import ConfServer, SigningIdentity, make_signing_identity, make_tls_files

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(scope="module")
def ee_signer(tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    return make_signing_identity(tmp_path_factory.mktemp("ee-token"), KeyType.RSA2048, "ee-internal")


@pytest.fixture(scope="module")
def fi_signer(tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    return make_signing_identity(tmp_path_factory.mktemp("fi-token"), KeyType.EC_P256, "fi-external")


@pytest.fixture
def server() -> Iterator[ConfServer]:
    srv = ConfServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def ee(server: ConfServer, ee_signer: SigningIdentity) -> Authority:
    return Authority("EE", ee_signer, server)


def _client(tmp_path: Path, anchor: ConfigurationAnchor, **kw: object) -> ConfigurationClient:
    return ConfigurationClient(ClientConfig(anchor=anchor, directory=tmp_path / "conf", **kw), rng=random.Random(7))  # type: ignore[arg-type]


def test_refresh_downloads_verifies_and_stores(tmp_path: Path, ee: Authority, server: ConfServer) -> None:
    published = ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 10 * MINUTE)
    client = _client(tmp_path, ee.anchor())
    with pytest.raises(ConfOutdated):
        client.ensure_current(AT)  # nothing downloaded yet: no traffic
    report = client.refresh(AT)
    assert report.ok, report
    outcome = report.outcome("EE")
    assert outcome is not None and outcome.source_url == server.url("/internalconf?version=6")
    stored = tmp_path / "conf"
    assert (stored / "instance-identifier").read_text() == "EE"
    assert (stored / "EE" / "shared-params.xml").read_bytes() == next(v for k, v in published.items() if k.endswith("shared-params.xml"))
    assert (stored / "EE" / "directory").read_bytes() == published["/V6/internalconf"]
    meta = json.loads((stored / "EE" / "metadata.json").read_text())
    assert meta["expiresAt"] == "2026-06-01T12:10:00Z" and meta["version"] == 6
    xroad_meta = json.loads((stored / "EE" / "shared-params.xml.metadata").read_text())
    assert xroad_meta == {"contentIdentifier": "SHARED-PARAMETERS", "instanceIdentifier": "EE", "expirationDate": "2026-06-01T12:10:00Z", "configurationVersion": "6"}
    client.ensure_current(AT + 9 * MINUTE)
    with pytest.raises(ConfOutdated) as info:
        client.ensure_current(AT + 10 * MINUTE)
    assert info.value.xroad_code == "global_conf_outdated"
    tree = load_tree(stored)
    assert tree.own.layout == "sild" and tree.own.private is not None
    assert set(tree.reverify(ee.anchor(), AT)) == {"EE"}
    assert client.status()["EE"]["ok"] is True
    assert client.current(AT).own.members[0].name == "Tax board"


def test_version_fallback_on_404(tmp_path: Path, ee: Authority, server: ConfServer) -> None:
    ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 10 * MINUTE, version=4)
    report = _client(tmp_path, ee.anchor()).refresh(AT)
    assert report.ok, report
    asked = [r for r in server.requests if "internalconf" in r]
    assert asked == ["/internalconf?version=6", "/internalconf?version=5", "/internalconf?version=4"]
    assert load_tree(tmp_path / "conf").own.version == 4


def test_unchanged_parts_are_not_downloaded_again(tmp_path: Path, ee: Authority, server: ConfServer) -> None:
    client = _client(tmp_path, ee.anchor())
    ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 10 * MINUTE)
    assert client.refresh(AT).ok
    first = list(server.requests)
    # same parts at the same locations, a fresh directory (new expiry)
    shared_loc = next(k for k in ee.published if k.endswith("shared-params.xml"))
    ee.generation -= 1
    ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 20 * MINUTE)
    assert shared_loc in ee.published
    server.requests.clear()
    assert client.refresh(AT + MINUTE).ok
    assert server.requests == ["/internalconf?version=6"], (first, server.requests)
    client.ensure_current(AT + 15 * MINUTE)


def test_https_source_is_preferred(tmp_path: Path, ee_signer: SigningIdentity) -> None:
    cert_path, key_path, _ = make_tls_files(tmp_path / "tls")
    plain, secure = ConfServer().start(), ConfServer(tls=(cert_path, key_path)).start()
    try:
        for srv in (plain, secure):
            Authority("EE", ee_signer, srv).publish(sample_shared("EE"), sample_private("EE"), expire=AT + 10 * MINUTE)
        anchor = ConfigurationAnchor(
            "EE",
            (
                AnchorSource(plain.url("/internalconf"), (ee_signer.der,)),
                AnchorSource(secure.url("/internalconf"), (ee_signer.der,)),
            ),
        )
        context = ssl.create_default_context(cafile=str(cert_path))
        for seed in range(4):  # whatever the shuffle, HTTPS goes first
            client = ConfigurationClient(ClientConfig(anchor=anchor, directory=tmp_path / f"c{seed}", ssl_context=context), rng=random.Random(seed))
            report = client.refresh(AT)
            assert report.ok, report
            assert report.outcomes[0].source_url.startswith("https://")  # type: ignore[union-attr]
        assert plain.requests == []
        # the HTTPS source down: the HTTP one is used
        secure.stop()
        client = ConfigurationClient(ClientConfig(anchor=anchor, directory=tmp_path / "fallback", ssl_context=context))
        report = client.refresh(AT)
        assert report.ok and report.outcomes[0].source_url.startswith("http://")  # type: ignore[union-attr]
    finally:
        plain.stop()
        secure.stop()


def _positions(length: int, count: int) -> list[int]:
    step = max(1, length // count)
    return sorted(set(list(range(0, length, step)) + [length - 1]))


@pytest.mark.parametrize("target", ["directory", "shared", "private"])
def test_tampering_keeps_the_last_good_copy(tmp_path: Path, ee: Authority, server: ConfServer, target: str) -> None:
    client = _client(tmp_path, ee.anchor())
    ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 60 * MINUTE)
    assert client.refresh(AT).ok
    stored = tmp_path / "conf" / "EE"
    good = {name: (stored / name).read_bytes() for name in ("directory", "shared-params.xml", "private-params.xml")}
    newer = ee.publish(sample_shared("EE", name="Renamed board"), sample_private("EE"), expire=AT + 90 * MINUTE)
    key = {
        "directory": "/V6/internalconf",
        "shared": next(k for k in newer if k.endswith("shared-params.xml")),
        "private": next(k for k in newer if k.endswith("private-params.xml")),
    }[target]
    original = newer[key]
    codes = set()
    for position in _positions(len(original), 40 if target == "directory" else 12):
        tampered = bytearray(original)
        tampered[position] ^= 0x01
        server.files[key] = bytes(tampered)
        report = client.refresh(AT + MINUTE)
        outcome = report.outcome("EE")
        assert outcome is not None and not outcome.ok, f"byte {position} of {target} went unnoticed"
        assert outcome.kept_previous
        codes.add(outcome.code)
        for name, data in good.items():
            assert (stored / name).read_bytes() == data
        status = client.status()["EE"]
        assert status["ok"] is False and status["error"]["code"] == outcome.code
        assert status["error"]["keptPrevious"] is True
        client.ensure_current(AT + MINUTE)  # the last good copy still serves
    if target != "directory":
        assert codes == {"federation.conf.hash_mismatch"}
    # the authority repairs its files: the client moves on
    server.files[key] = original
    assert client.refresh(AT + 2 * MINUTE).ok
    assert load_tree(tmp_path / "conf").own.shared.members[0].name == "Renamed board"
    assert "error" not in client.status()["EE"]


def test_stopped_authority_does_not_break_the_client_until_expiry(tmp_path: Path, ee_signer: SigningIdentity) -> None:
    server = ConfServer().start()
    try:
        authority = Authority("EE", ee_signer, server)
        authority.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 10 * MINUTE)
        client = _client(tmp_path, authority.anchor())
        assert client.refresh(AT).ok
        port = server.port
        server.stop()
        for minutes in (1, 5, 9):
            report = client.refresh(AT + minutes * MINUTE)
            outcome = report.outcome("EE")
            assert outcome is not None and not outcome.ok
            assert outcome.code == "federation.conf.download_failed"
            assert outcome.kept_previous
            client.ensure_current(AT + minutes * MINUTE)
            assert client.current(AT + minutes * MINUTE).own.instance == "EE"
        with pytest.raises(ConfOutdated):
            client.ensure_current(AT + 10 * MINUTE)
        with pytest.raises(ConfOutdated):
            client.current(AT + 11 * MINUTE)
        # the authority comes back on the same address with fresh configuration
        server.port = port
        server.start()
        authority.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 30 * MINUTE)
        assert client.refresh(AT + 12 * MINUTE).ok
        client.ensure_current(AT + 12 * MINUTE)
    finally:
        server.stop()


def test_an_older_still_valid_directory_is_never_taken_back(tmp_path: Path, ee: Authority, server: ConfServer) -> None:
    """A replay of older signed configuration (issue 15.2): refused, logged in the status, across restarts."""
    older = ee.publish(sample_shared("EE", name="Old board"), sample_private("EE"), expire=AT + 10 * MINUTE)
    client = _client(tmp_path, ee.anchor())
    assert client.refresh(AT).ok
    newer = ee.publish(sample_shared("EE", name="New board"), sample_private("EE"), expire=AT + 20 * MINUTE)
    assert client.refresh(AT + MINUTE).ok
    stored = tmp_path / "conf" / "EE"

    def replay_is_refused(c: ConfigurationClient, at: dt.datetime) -> None:
        server.files.clear()
        server.files.update(older)  # the attacker on the distribution path serves the older generation
        outcome = c.refresh(at).outcome("EE")
        assert outcome is not None and not outcome.ok
        assert outcome.code == "federation.conf.rolled_back", outcome
        assert "2026-06-01T12:10:00+00:00" in str(outcome.message) and "2026-06-01T12:20:00+00:00" in str(outcome.message)
        assert c.status()["EE"]["error"]["code"] == "federation.conf.rolled_back"

    replay_is_refused(client, AT + 2 * MINUTE)
    assert outcome_kept(stored, newer)
    assert load_tree(tmp_path / "conf").own.shared.members[0].name == "New board"
    # a restart (a new client on the same directory) remembers the mark
    replay_is_refused(_client(tmp_path, ee.anchor()), AT + 3 * MINUTE)
    assert outcome_kept(stored, newer)
    # even with the stored generation gone, the mark on disk refuses the older directory
    (tmp_path / "conf" / "EE").unlink()
    replay_is_refused(_client(tmp_path, ee.anchor()), AT + 4 * MINUTE)
    assert not stored.exists()
    assert json.loads((tmp_path / "conf" / "high-water.json").read_text()) == {"EE": {"expiresAt": "2026-06-01T12:20:00Z"}}
    # the same generation again, and a newer one, are taken
    server.files.update(newer)
    assert client.refresh(AT + 5 * MINUTE).ok
    ee.publish(sample_shared("EE", name="Newest board"), sample_private("EE"), expire=AT + 30 * MINUTE)
    assert client.refresh(AT + 6 * MINUTE).ok
    assert load_tree(tmp_path / "conf").own.shared.members[0].name == "Newest board"
    assert "error" not in client.status()["EE"]


def outcome_kept(stored: Path, published: dict[str, bytes]) -> bool:
    """The stored copy is still the ``published`` generation."""
    return (stored / "directory").read_bytes() == published["/V6/internalconf"]


def test_a_source_serving_older_configuration_is_skipped_for_one_serving_the_newest(
        tmp_path: Path, ee_signer: SigningIdentity) -> None:
    stale, fresh = ConfServer().start(), ConfServer().start()
    try:
        old_authority, new_authority = Authority("EE", ee_signer, stale), Authority("EE", ee_signer, fresh)
        old_authority.publish(sample_shared("EE", name="Old board"), sample_private("EE"), expire=AT + 10 * MINUTE)
        new_authority.generation = 5
        new_authority.publish(sample_shared("EE", name="New board"), sample_private("EE"), expire=AT + 20 * MINUTE)
        sources = (AnchorSource(stale.url("/internalconf"), (ee_signer.der,)),
                   AnchorSource(fresh.url("/internalconf"), (ee_signer.der,)))
        anchor = ConfigurationAnchor("EE", sources)
        only_new = ConfigurationAnchor("EE", sources[1:])
        assert _client(tmp_path, only_new).refresh(AT).ok
        for seed in range(4):  # whichever source comes first, the older one never wins
            client = ConfigurationClient(ClientConfig(anchor=anchor, directory=tmp_path / "conf"), rng=random.Random(seed))
            outcome = client.refresh(AT + MINUTE).outcome("EE")
            assert outcome is not None and outcome.ok and outcome.source_url == fresh.url("/internalconf?version=6")
        assert load_tree(tmp_path / "conf").own.shared.members[0].name == "New board"
    finally:
        stale.stop()
        fresh.stop()


def test_expired_directory_from_the_authority_is_refused(tmp_path: Path, ee: Authority) -> None:
    ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT - MINUTE)
    report = _client(tmp_path, ee.anchor()).refresh(AT)
    outcome = report.outcome("EE")
    assert outcome is not None and outcome.code == "federation.conf.expired" and not outcome.kept_previous


@pytest.fixture
def federation_setup(tmp_path: Path, ee_signer: SigningIdentity, fi_signer: SigningIdentity) -> Iterator[tuple[Authority, Authority]]:
    ee_server, fi_server = ConfServer().start(), ConfServer().start()
    try:
        ee = Authority("EE", ee_signer, ee_server)
        fi = Authority("FI", fi_signer, fi_server, name="externalconf")
        fi.publish(sample_shared("FI", extra_members=2), None, expire=AT + 5 * MINUTE)
        ee.publish(sample_shared("EE"), sample_private("EE", anchors=(fi.anchor(),)), expire=AT + 60 * MINUTE)
        yield ee, fi
    finally:
        ee_server.stop()
        fi_server.stop()


@pytest.mark.parametrize(
    "allowed,expect_fi",
    [(None, False), ("none", False), ("all", True), ("fi", True), ("FI", True), ("ee, Fi", True), ("ee,lv", False)],
    ids=["default", "none", "all", "fi", "FI", "ee-Fi", "ee-lv"],
)
def test_allowed_federations(tmp_path: Path, federation_setup: tuple[Authority, Authority], allowed: str | None, expect_fi: bool) -> None:
    ee, _ = federation_setup
    client = _client(tmp_path, ee.anchor(), allowed_federations=AllowedFederations.parse(allowed))
    report = client.refresh(AT)
    assert report.ok, report
    assert [o.instance for o in report.outcomes] == (["EE", "FI"] if expect_fi else ["EE"])
    current = client.current(AT)
    assert set(current.shared) == ({"EE", "FI"} if expect_fi else {"EE"})
    if expect_fi:
        assert len(current.shared["FI"].members) == 3
        assert not (tmp_path / "conf" / "FI" / "private-params.xml").exists()


def test_expired_or_withdrawn_partner_only_removes_that_partner(tmp_path: Path, federation_setup: tuple[Authority, Authority]) -> None:
    ee, fi = federation_setup
    client = _client(tmp_path, ee.anchor(), allowed_federations=AllowedFederations.parse("all"))
    assert client.refresh(AT).ok
    fi.server.stop()  # FI's authority goes away; its copy expires at AT+5min
    report = client.refresh(AT + 6 * MINUTE)
    assert report.outcome("EE").ok and not report.outcome("FI").ok  # type: ignore[union-attr]
    current = client.current(AT + 6 * MINUTE)
    assert set(current.shared) == {"EE"}  # partner gone, own instance unaffected
    client.ensure_current(AT + 6 * MINUTE)
    # EE withdraws the trusted anchor: the stored partner folder is removed
    ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 60 * MINUTE)
    report = client.refresh(AT + 7 * MINUTE)
    assert report.removed == ("FI",)
    assert not (tmp_path / "conf" / "FI").exists()
    assert "FI" not in client.status()


def test_partner_signed_by_an_unknown_key_is_refused(tmp_path: Path, federation_setup: tuple[Authority, Authority], ee_signer: SigningIdentity) -> None:
    ee, fi = federation_setup
    impostor = Authority("FI", ee_signer, fi.server, name="externalconf")  # right address, wrong key
    impostor.publish(sample_shared("FI"), None, expire=AT + 5 * MINUTE)
    report = _client(tmp_path, ee.anchor(), allowed_federations=AllowedFederations.parse("all")).refresh(AT)
    assert report.outcome("FI").code == "federation.conf.unknown_verification_cert"  # type: ignore[union-attr]
    assert report.outcome("EE").ok  # type: ignore[union-attr]


def test_allowed_federations_parse() -> None:
    assert str(AllowedFederations.parse(None)) == "none"
    assert not AllowedFederations.parse("NONE").allows("EE")
    assert AllowedFederations.parse("All").allows("anything")
    assert AllowedFederations.parse(["Ee", "fi"]).allows("EE")
    for bad in ("all,ee", "none,fi"):
        with pytest.raises(ValueError):
            AllowedFederations.parse(bad)


def test_schedule_refresh_with_apscheduler(tmp_path: Path, ee: Authority) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 10 * MINUTE)
    client = _client(tmp_path, ee.anchor())
    done = threading.Event()
    reports: list[RefreshReport] = []

    def on_report(report: RefreshReport) -> None:
        reports.append(report)
        done.set()

    scheduler = BackgroundScheduler(timezone=dt.timezone.utc)
    scheduler.start()
    try:
        job = schedule_refresh(scheduler, client, clock=lambda: AT, interval_seconds=3600, on_report=on_report)
        assert job.id == "sild-configuration-refresh"
        assert done.wait(10), "the refresh job did not run"
    finally:
        scheduler.shutdown(wait=True)
    assert reports[0].ok
    client.ensure_current(AT)


def test_part_location_may_not_leave_the_authority(tmp_path: Path, ee: Authority, server: ConfServer) -> None:
    from federation.directory import DirectoryEntry, build_directory
    from federation.model import write_shared_parameters

    other = ConfServer().start()
    try:
        shared = write_shared_parameters(sample_shared("EE"))
        other.files["/shared-params.xml"] = shared
        server.files["/V6/internalconf"] = build_directory(
            [DirectoryEntry("SHARED-PARAMETERS", "EE", other.url("/shared-params.xml"), shared)],
            expire_date=AT + 10 * MINUTE,
            version=6,
            signer=ee.signer.token,
            key_id=ee.signer.key_id,
            cert=ee.signer.cert,
        )
        report = _client(tmp_path, ee.anchor()).refresh(AT)
        outcome = report.outcome("EE")
        assert outcome is not None and outcome.code == "federation.conf.missing_part"
        assert "leaves the origin" in (outcome.message or "")
        assert other.requests == []
    finally:
        other.stop()


def test_generations_are_swapped_and_stored_copies_reverified(tmp_path: Path, ee: Authority) -> None:
    from federation.model import ConfHashMismatch

    client = _client(tmp_path, ee.anchor())
    ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 10 * MINUTE)
    assert client.refresh(AT).ok
    root = tmp_path / "conf"
    first = (root / "EE").resolve()
    ee.publish(sample_shared("EE", name="Zweite Behoerde"), sample_private("EE"), expire=AT + 20 * MINUTE)
    assert client.refresh(AT + MINUTE).ok
    second = (root / "EE").resolve()
    assert (root / "EE").is_symlink() and first != second and not first.exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".EE.")] == [second.name]
    tree = load_tree(root)
    tree.reverify(ee.anchor(), AT + MINUTE)
    # someone edits the stored copy: it still parses, but re-verification catches it
    shared = second / "shared-params.xml"
    shared.write_bytes(shared.read_bytes().replace(b"Zweite", b"Falsch"))
    with pytest.raises(ConfHashMismatch):
        load_tree(root).reverify(ee.anchor(), AT + MINUTE)


def test_server_error_moves_to_the_next_source_without_lowering_the_version(tmp_path: Path, ee: Authority, server: ConfServer, ee_signer: SigningIdentity) -> None:
    broken = ConfServer().start()
    try:
        ee.publish(sample_shared("EE"), sample_private("EE"), expire=AT + 10 * MINUTE)
        broken.files["/V6/internalconf"] = b"not a directory"
        anchor = ConfigurationAnchor(
            "EE",
            (
                AnchorSource(broken.url("/internalconf"), (ee_signer.der,)),
                AnchorSource(server.url("/internalconf"), (ee_signer.der,)),
            ),
        )
        client = ConfigurationClient(ClientConfig(anchor=anchor, directory=tmp_path / "conf"), rng=random.Random(0))
        for _ in range(3):
            report = client.refresh(AT)
            assert report.ok and report.outcomes[0].source_url == server.url("/internalconf?version=6")  # type: ignore[union-attr]
        assert all(r == "/internalconf?version=6" for r in broken.requests)
    finally:
        broken.stop()
