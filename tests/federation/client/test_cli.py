"""``sild conf verify`` / ``fetch`` / ``fingerprint``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from federation.anchor import anchor_fingerprint, anchor_from_shared_parameters, write_anchor
from federation.client._cli import conf_group
from federation.model import parse_shared_parameters
from trust.keys import KeyType

from tests.federation.client.client_support import Authority, sample_private, sample_shared
from tests.federation.directory_support import ConfServer, SigningIdentity, make_signing_identity
from tests.support.conformance import XROAD

GC = XROAD / "globalconf"
AT_TEXT = "2026-06-01T12:00:00Z"
AT = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc)
DEV_ANCHOR = GC / "anchors/configuration_anchor_CS_internal.xml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(conf_group, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_verify_served_folder() -> None:
    code, out, err = run("verify", str(GC / "served"), "--anchor", str(DEV_ANCHOR), "--at", AT_TEXT)
    assert code == 0, err
    assert "instance: DEV" in out and "version: 6" in out and "expires: 2035-11-11T03:07:40+00:00" in out
    assert "SHARED-PARAMETERS instance=DEV /V6/20251110170000548026000/shared-params.xml" in out
    assert "PRIVATE-PARAMETERS" in out


def test_verify_directory_file_with_parts_beside_it() -> None:
    code, out, err = run("verify", str(GC / "served/V6/internalconf"), "--anchor", str(DEV_ANCHOR), "--at", AT_TEXT)
    assert code == 0, err
    assert "hash ok" in out


@pytest.fixture(scope="module")
def external_anchor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared = parse_shared_parameters(next((GC / "served/V6").glob("*/shared-params.xml")).read_bytes())
    path = tmp_path_factory.mktemp("anchor") / "external.xml"
    path.write_bytes(write_anchor(anchor_from_shared_parameters(shared, internal=False, generated_at=AT)))
    return path


def test_verify_reports_the_v6_external_hash_mismatch(external_anchor: Path) -> None:
    code, out, err = run("verify", str(GC / "served"), "--kind", "external", "--anchor", str(external_anchor), "--at", AT_TEXT)
    assert code == 1
    assert "federation.conf.hash_mismatch" in err and "SHARED-PARAMETERS" in err
    assert out == ""


@pytest.mark.parametrize(
    "source,anchor,at,code",
    [
        ("served", "anchors/configuration_anchor_CS_internal.xml", "2036-01-01T00:00:00Z", "federation.conf.expired"),
        ("served/V5/internalconf", "anchors/configuration_anchor_CS_internal.xml", AT_TEXT, "federation.conf.unknown_verification_cert"),
        ("directories/test-conf-malformed.txt", "anchors/configuration_anchor_CS_internal.xml", AT_TEXT, "federation.conf.malformed"),
        ("directories/test-conf-missing-date.txt", "anchors/configuration_anchor_CS_internal.xml", AT_TEXT, "federation.conf.missing_expiry"),
        ("served", "parsed/valid-monitoring-params.xml", AT_TEXT, "federation.conf.anchor_invalid"),
    ],
    ids=["expired", "wrong-anchor", "malformed", "missing-date", "not-an-anchor"],
)
def test_verify_failures_exit_1_with_the_reason(source: str, anchor: str, at: str, code: str) -> None:
    exit_code, out, err = run("verify", str(GC / source), "--anchor", str(GC / anchor), "--at", at)
    assert exit_code == 1
    assert err.startswith("sild: error: ") and f"[{code}]" in err


def test_naive_time_is_refused() -> None:
    result = CliRunner().invoke(conf_group, ["verify", str(GC / "served"), "--anchor", str(DEV_ANCHOR), "--at", "2026-06-01T12:00:00"])
    assert result.exit_code == 2 and "time zone" in result.output


def test_fingerprint() -> None:
    code, out, _ = run("fingerprint", str(DEV_ANCHOR))
    assert code == 0
    assert f"SHA-224: {anchor_fingerprint(DEV_ANCHOR.read_bytes())}" in out


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    return make_signing_identity(tmp_path_factory.mktemp("token"), KeyType.RSA2048)


@pytest.fixture
def authority(signer: SigningIdentity) -> Iterator[Authority]:
    server = ConfServer().start()
    try:
        yield Authority("EE", signer, server)
    finally:
        server.stop()


def test_verify_url_and_fetch(tmp_path: Path, authority: Authority) -> None:
    authority.publish(sample_shared("EE"), sample_private("EE"), expire=AT + dt.timedelta(minutes=10), version=5)
    anchor_file = tmp_path / "anchor.xml"
    anchor_file.write_bytes(write_anchor(authority.anchor()))
    code, out, err = run("verify", authority.server.url("/internalconf"), "--anchor", str(anchor_file), "--at", AT_TEXT)
    assert code == 0, err
    assert "instance: EE" in out and "version: 5" in out
    code, out, err = run("fetch", "--anchor", str(anchor_file), "--dir", str(tmp_path / "conf"), "--at", AT_TEXT, "--allowed-federations", "all")
    assert code == 0, err
    assert out.startswith("EE: ok (internal)")
    assert (tmp_path / "conf" / "EE" / "shared-params.xml").exists()
    authority.server.stop()
    code, out, err = run("fetch", "--anchor", str(anchor_file), "--dir", str(tmp_path / "conf"), "--at", AT_TEXT)
    assert code == 1
    assert "FAILED [federation.conf.download_failed]" in out and "kept previous copy" in out


def test_fetch_refuses_contradictory_federations(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        conf_group, ["fetch", "--anchor", str(DEV_ANCHOR), "--dir", str(tmp_path), "--allowed-federations", "all,ee"]
    )
    assert result.exit_code == 2


def test_fetch_refuses_older_configuration_and_keeps_the_newer_copy(tmp_path: Path, authority: Authority) -> None:
    older = authority.publish(sample_shared("EE"), sample_private("EE"), expire=AT + dt.timedelta(minutes=10))
    newer = authority.publish(sample_shared("EE"), sample_private("EE"), expire=AT + dt.timedelta(minutes=20))
    anchor_file = tmp_path / "anchor.xml"
    anchor_file.write_bytes(write_anchor(authority.anchor()))
    fetch = ("fetch", "--anchor", str(anchor_file), "--dir", str(tmp_path / "conf"), "--at", AT_TEXT)
    assert run(*fetch)[0] == 0
    authority.server.files.update(older)  # a replay of the older generation
    code, out, _ = run(*fetch)
    assert code == 1
    assert "EE: FAILED [federation.conf.rolled_back]" in out and "(kept previous copy)" in out
    assert (tmp_path / "conf" / "EE" / "directory").read_bytes() == newer["/V6/internalconf"]
