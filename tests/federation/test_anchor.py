"""Configuration anchors: X-Road's files, sild's files, and the SHA-224 fingerprint."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from lxml import etree

from federation.anchor import (
    anchor_fingerprint,
    anchor_from_shared_parameters,
    check_fingerprint,
    load_anchor,
    parse_anchor,
    write_anchor,
)
from federation.directory import verify_directory
from federation.model import AnchorSource, ConfigurationAnchor
from federation.model import AnchorInvalid
from federation.model import parse_shared_parameters

from tests.federation.directory_support import xroad_schema
from tests.support.conformance import XROAD

GC = XROAD / "globalconf"
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)

ANCHORS = {
    "anchors/configuration_anchor_CS_internal.xml": ("DEV", ["http://cs/internalconf", "https://cs/internalconf"]),
    "parsed/configuration-anchor1.xml": (
        "EE",
        ["http://www.bar.com/conf", "http://node-0x.example.com/internalconf", "http://node-1x.example.com/internalconf"],
    ),
    "parsed/configuration-anchor2.xml": ("EE", ["http://www.bar.com/conf2"]),
}


@pytest.mark.parametrize("name", sorted(ANCHORS), ids=sorted(ANCHORS))
@pytest.mark.conformance(area="anchors", vector="globalconf/{name}",
                         expected=lambda p: f"instance {ANCHORS[p['name']][0]}, {len(ANCHORS[p['name']][1])} sources, SHA-224 fingerprint")
def test_xroad_anchors_are_read(name: str) -> None:
    instance, urls = ANCHORS[name]
    loaded = load_anchor(GC / name)
    assert loaded.anchor.instance == instance
    assert [s.download_url for s in loaded.anchor.sources] == urls
    assert all(s.verification_certs for s in loaded.anchor.sources)
    # the fingerprint is SHA-224 over the exact file bytes, upper-case hex pairs joined by colons
    expected = hashlib.sha224((GC / name).read_bytes()).hexdigest().upper()
    assert loaded.fingerprint.replace(":", "") == expected
    assert len(loaded.fingerprint.split(":")) == 28


def test_dev_anchor_generated_at() -> None:
    anchor = parse_anchor((GC / "anchors/configuration_anchor_CS_internal.xml").read_bytes())
    assert anchor.generated_at == dt.datetime(2025, 11, 5, 22, 10, 45, 770000, tzinfo=dt.timezone.utc)


def test_fingerprint_check_accepts_operator_spellings_and_refuses_others() -> None:
    data = (GC / "anchors/configuration_anchor_CS_internal.xml").read_bytes()
    fingerprint = anchor_fingerprint(data)
    check_fingerprint(data, fingerprint)
    check_fingerprint(data, fingerprint.replace(":", "").lower())
    check_fingerprint(data, fingerprint.replace(":", " "))
    with pytest.raises(AnchorInvalid, match="expected"):
        check_fingerprint(data + b"\n", fingerprint)  # one more byte: another anchor
    with pytest.raises(AnchorInvalid, match="not a SHA-224"):
        check_fingerprint(data, "abc")


def test_written_anchor_validates_and_round_trips() -> None:
    anchor = ConfigurationAnchor(
        "EE",
        (AnchorSource("https://cs1.example/internalconf", (b"\x30\x01\x00", b"\x30\x01\x01")), AnchorSource("http://cs2/internalconf", (b"\x30\x00",))),
        generated_at=AT,
    )
    data = write_anchor(anchor)
    root = etree.fromstring(data)
    assert root.tag == "{http://x-road.eu/xsd/xroad.xsd}configurationAnchor"
    assert all(etree.QName(child).namespace is None for child in root)  # children unqualified
    schema = xroad_schema(XROAD, "v2/private-parameters.xsd")  # declares the configurationAnchor element
    assert schema.validate(root), schema.error_log.last_error
    assert parse_anchor(data) == anchor


@pytest.mark.conformance(area="anchors", vector="globalconf/served/V5")
def test_anchor_from_shared_parameters_verifies_the_instances_directory() -> None:
    shared = parse_shared_parameters(next((GC / "served/V5").glob("*/shared-params.xml")).read_bytes())
    for internal in (True, False):
        anchor = parse_anchor(write_anchor(anchor_from_shared_parameters(shared, internal=internal, generated_at=AT)))
        assert anchor.instance == "DEV"
        kind = "internal" if internal else "external"
        assert [s.download_url for s in anchor.sources] == [f"https://cs/{kind}conf", f"http://cs/{kind}conf"]
        verified = verify_directory(
            (GC / f"served/V5/{kind}conf").read_bytes(),
            anchor,
            at=AT,
            fetch_part=lambda loc: (GC / "served" / loc.lstrip("/")).read_bytes(),
        )
        assert verified.instance == "DEV"


BAD = {
    "wrong-root": b"<x:conf xmlns:x='http://x-road.eu/xsd/xroad.xsd'/>",
    "unqualified-root": b"<configurationAnchor><instanceIdentifier>EE</instanceIdentifier></configurationAnchor>",
    "no-source": b"<x:configurationAnchor xmlns:x='http://x-road.eu/xsd/xroad.xsd'><instanceIdentifier>EE</instanceIdentifier></x:configurationAnchor>",
    "no-cert": b"<x:configurationAnchor xmlns:x='http://x-road.eu/xsd/xroad.xsd'><instanceIdentifier>EE</instanceIdentifier>"
    b"<source><downloadURL>http://a/internalconf</downloadURL></source></x:configurationAnchor>",
    "dtd": b"<!DOCTYPE x SYSTEM 'http://evil/x.dtd'><x:configurationAnchor xmlns:x='http://x-road.eu/xsd/xroad.xsd'/>",
    "not-xml": b"this is not an anchor",
}


@pytest.mark.parametrize("name", sorted(BAD), ids=sorted(BAD))
@pytest.mark.conformance(area="anchors", expected="{name} refused")
def test_bad_anchors_are_refused(name: str) -> None:
    with pytest.raises(AnchorInvalid):
        parse_anchor(BAD[name])


def test_missing_anchor_file(tmp_path: Path) -> None:
    with pytest.raises(AnchorInvalid, match="cannot read"):
        load_anchor(tmp_path / "absent.xml")
