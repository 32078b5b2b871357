"""The generator: signed, schema-valid, atomically published configuration; key rotation."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from lxml import etree

from federation.anchor import parse_anchor
from federation.directory import parse_directory, verify_directory
from federation.central import generate
from federation.central._generator import needs_generation
from federation.model import PRIVATE_PARAMETERS, SHARED_PARAMETERS
from federation.model import ConfError, ConfUnknownVerificationCert
from federation.central import read_state
from federation.central.registry import CentralDir
from federation.central.registry._home import CentralDirError
from federation.central.registry._errors import InvalidSetting, RegistryInvalidInput
from federation.central.registry import build_anchor, init_central
from federation.central.registry import create_signing_key
from trust.protocol import MemberId

from tests.federation.directory_support import xroad_schema

PIN = "test-pin"
TAX = MemberId("EE", "GOV", "70000001")


class Clock:
    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment


@pytest.fixture
def authority(tmp_path: Path, now: dt.datetime) -> tuple[CentralDir, Clock]:
    init_central(str(tmp_path / "ee"), instance="EE", url="http://127.0.0.1:4000", pin=PIN, now=now)
    clock = Clock(now)
    home = CentralDir(tmp_path / "ee", clock=clock)
    yield home, clock
    home.close()


def test_failed_init_leaves_nothing_behind(tmp_path: Path, now: dt.datetime) -> None:
    with pytest.raises(CentralDirError):
        init_central(str(tmp_path / "bad"), instance="EE", url="ftp://cs.example.ee", pin=PIN, now=now)
    with pytest.raises(RegistryInvalidInput):
        init_central(str(tmp_path / "bad"), instance="EE", url="http://cs.example.ee", pin=PIN, now=now,
                     member_classes=[("", "empty code")])
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    init_central(str(tmp_path / "good"), instance="EE", url="http://cs.example.ee", pin=PIN, now=now)
    with pytest.raises(CentralDirError):
        init_central(str(tmp_path / "good"), instance="EE", url="http://cs.example.ee", pin=PIN, now=now)


def _read_part(home: CentralDir) -> object:
    return lambda location: (home.public_dir / location.lstrip("/")).read_bytes()


def _verify(home: CentralDir, kind: str, anchor_bytes: bytes, at: dt.datetime):  # type: ignore[no-untyped-def]
    data = (home.public_dir / "V6" / kind).read_bytes()
    return verify_directory(data, parse_anchor(anchor_bytes), at=at, fetch_part=_read_part(home))


def test_internal_and_external_verify_and_validate(authority: tuple[CentralDir, Clock], xroad: Path, now: dt.datetime) -> None:
    home, _ = authority
    internal = _verify(home, "internalconf", build_anchor(home, internal=True, now=now), now)
    external = _verify(home, "externalconf", build_anchor(home, internal=False, now=now), now)
    assert [p.content_identifier for p in internal.parts] == [PRIVATE_PARAMETERS, SHARED_PARAMETERS]
    assert [p.content_identifier for p in external.parts] == [SHARED_PARAMETERS]
    assert internal.version == external.version == 6
    assert internal.expires_at == now + dt.timedelta(seconds=600)
    # each directory is signed with its own key: the other anchor does not verify it
    with pytest.raises(ConfUnknownVerificationCert):
        _verify(home, "internalconf", build_anchor(home, internal=False, now=now), now)
    shared = internal.part(SHARED_PARAMETERS).data  # type: ignore[union-attr]
    private = internal.part(PRIVATE_PARAMETERS).data  # type: ignore[union-attr]
    shared_schema = xroad_schema(xroad, "v6/shared-parameters.xsd")
    assert shared_schema.validate(etree.fromstring(shared)), shared_schema.error_log.last_error
    private_schema = xroad_schema(xroad, "v3/private-parameters.xsd")
    assert private_schema.validate(etree.fromstring(private)), private_schema.error_log.last_error


def test_registry_change_triggers_regeneration(authority: tuple[CentralDir, Clock], now: dt.datetime) -> None:
    home, clock = authority
    token = home.token(PIN)
    first = read_state(home.public_dir)
    assert generate(home, token, now=now).regenerated is False  # nothing changed
    home.registry().add_member(TAX, "Tax Board")
    assert needs_generation(first, home.registry().snapshot(), now)
    clock.moment = now + dt.timedelta(seconds=1)
    result = generate(home, token, now=clock.moment)
    assert result.regenerated and result.serial == home.registry().info().serial
    shared = _verify(home, "externalconf", build_anchor(home, internal=False, now=now), clock.moment).shared_parameters
    assert shared is not None and TAX in set(shared.member_ids())


def test_regenerates_before_expiry(authority: tuple[CentralDir, Clock], now: dt.datetime) -> None:
    home, _ = authority
    token = home.token(PIN)
    assert generate(home, token, now=now + dt.timedelta(seconds=299)).regenerated is False
    later = now + dt.timedelta(seconds=300)  # half of confExpireIntervalSeconds (600) used up
    result = generate(home, token, now=later)
    assert result.regenerated and result.expires_at == later + dt.timedelta(seconds=600)


def test_readers_never_see_a_half_published_directory(authority: tuple[CentralDir, Clock], now: dt.datetime) -> None:
    """A reader that loads the directory, then its parts, always gets a consistent set."""
    home, _ = authority
    token = home.token(PIN)
    anchor = parse_anchor(build_anchor(home, internal=True, now=now))
    stop = threading.Event()
    failures: list[str] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            data = (home.public_dir / "V6" / "internalconf").read_bytes()
            try:
                verify_directory(data, anchor, at=now, fetch_part=_read_part(home))
            except (ConfError, OSError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
            reads[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(15):
            home.registry().add_member(MemberId("EE", "GOV", f"{i:08d}"), f"Member {i}")
            generate(home, token, now=now + dt.timedelta(milliseconds=i + 1))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert reads[0] > 0
    generations = [p for p in (home.public_dir / "V6").iterdir() if p.is_dir()]
    assert len(generations) == 5  # older generations are pruned, recent ones kept for slow readers


def test_key_rotation_keeps_old_anchor_verifying_during_overlap(authority: tuple[CentralDir, Clock], now: dt.datetime) -> None:
    home, clock = authority
    token = home.token(PIN)
    registry = home.registry()
    old_anchor = build_anchor(home, internal=True, now=now)
    old_key = registry.snapshot().active_key("internal")
    assert old_key is not None

    # 1. announce: a pending key appears in source/anchors, the old key still signs
    new_id = create_signing_key(registry, token, "internal", now=now, activate=False)
    clock.moment = now + dt.timedelta(seconds=1)
    generate(home, token, now=clock.moment)
    overlap = _verify(home, "internalconf", old_anchor, clock.moment)
    assert overlap.shared_parameters is not None
    announced = overlap.shared_parameters.verification_certs(internal=True)
    assert len(announced) == 2 and old_key.cert_der in announced
    new_anchor = build_anchor(home, internal=True, now=clock.moment)
    assert len(parse_anchor(new_anchor).verification_certs()) == 2
    _verify(home, "internalconf", new_anchor, clock.moment)  # the new anchor works already

    # 2. switch: the new key signs; anchors exported during the overlap keep verifying
    registry.activate_signing_key(new_id)
    clock.moment = now + dt.timedelta(seconds=2)
    generate(home, token, now=clock.moment)
    signed = parse_directory((home.public_dir / "V6" / "internalconf").read_bytes())
    assert read_state(home.public_dir)["internalKey"] == new_id  # type: ignore[index]
    _verify(home, "internalconf", new_anchor, clock.moment)
    # an anchor that never learnt the new key does not verify after the switch: that is why the overlap exists
    with pytest.raises(ConfUnknownVerificationCert):
        _verify(home, "internalconf", old_anchor, clock.moment)
    assert signed.version == 6
    # the external configuration was not touched by the internal rotation
    _verify(home, "externalconf", build_anchor(home, internal=False, now=now), clock.moment)


def test_several_nodes_are_listed_as_sources(authority: tuple[CentralDir, Clock], now: dt.datetime) -> None:
    home, clock = authority
    registry = home.registry()
    with pytest.raises(InvalidSetting):
        registry.set_setting("additionalNodeUrls", "http://cs2.example.ee/conf")
    registry.set_setting("additionalNodeUrls", "http://cs2.example.ee:8080, https://cs3.example.ee/")
    clock.moment = now + dt.timedelta(seconds=1)
    generate(home, home.token(PIN), now=clock.moment)
    anchor = build_anchor(home, internal=True, now=now)
    assert [s.download_url for s in parse_anchor(anchor).sources] == [
        "http://127.0.0.1:4000/internalconf", "http://cs2.example.ee:8080/internalconf", "https://cs3.example.ee/internalconf",
    ]
    shared = _verify(home, "internalconf", anchor, clock.moment).shared_parameters
    assert shared is not None
    assert [s.address for s in shared.sources] == ["127.0.0.1:4000", "cs2.example.ee:8080", "cs3.example.ee"]


def test_each_generation_is_stored_in_the_registry_and_the_newest_five_are_kept(
        authority: tuple[CentralDir, Clock], now: dt.datetime) -> None:
    """What another node would serve (issue 19): the registry holds the very bytes published, newest five."""
    from federation.central.registry import latest_state, load_generation

    home, _ = authority
    folders = [generate(home, home.token(PIN), now=now + dt.timedelta(seconds=i), force=True).folder for i in range(7)]
    state = latest_state(home.registry())
    assert state == read_state(home.public_dir) and state is not None and state["folder"] == folders[-1]
    newest = load_generation(home.registry(), folders[-1])
    assert newest is not None
    assert newest.directories["internalconf"] == (home.public_dir / "V6" / "internalconf").read_bytes()
    assert dict(newest.files) == {p.name: p.read_bytes() for p in (home.public_dir / "V6" / folders[-1]).iterdir()}
    assert [f for f in folders if load_generation(home.registry(), f) is not None] == folders[-5:]


def test_a_generation_is_decided_from_the_registry_not_from_this_directory(
        authority: tuple[CentralDir, Clock], now: dt.datetime) -> None:
    """A node that lost its public/ (or never had it) copies the stored generation instead of making another."""
    import shutil

    from federation.central import sync_published

    home, _ = authority
    before = read_state(home.public_dir)
    assert before is not None
    shutil.rmtree(home.public_dir)
    result = generate(home, home.token(PIN), now=now + dt.timedelta(seconds=1))
    assert not result.regenerated and result.folder == before["folder"]
    assert read_state(home.public_dir) == before, "the stored generation was written back"
    assert not sync_published(home)
