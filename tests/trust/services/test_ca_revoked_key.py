"""The CA warns, or refuses when set to, about a key it certified before in a since revoked certificate."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.oid import NameOID

from gateway.cli import _main as sild_cli
from trust.keys import KeyType, SoftToken, make_csr
from trust.protocol import MemberId, SecurityServerId
from trust.services import CaError, CertificateAuthority, RevocationReason, RevokedKeyPolicy

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
MEMBER = MemberId("EE", "GOV", "70000001")
SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "anything")])


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    authority = CertificateAuthority.init(tmp_path / "ca", instance="EE", pin="ca-pin", now=NOW)
    yield authority
    authority.close()


@pytest.fixture
def token(tmp_path: Path) -> SoftToken:
    token = SoftToken(tmp_path / "token", "1234")
    token.generate("old", KeyType.EC_P256)
    token.generate("new", KeyType.EC_P256)
    return token


def test_a_key_of_a_revoked_certificate_is_certified_with_a_warning(ca: CertificateAuthority, token: SoftToken,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    csr = make_csr(token, "old", SUBJECT)
    first = ca.issue_sign(MEMBER, now=NOW, csr=csr)
    assert first.warnings == ()
    assert ca.issue_sign(MEMBER, now=NOW, csr=csr).warnings == ()  # certified, not revoked: nothing to say
    ca.revoke(first.cert, at=NOW, reason=RevocationReason.KEY_COMPROMISE)
    with caplog.at_level(logging.WARNING, logger="sild.trust.ca"):
        again = ca.issue_sign(MEMBER, now=NOW + dt.timedelta(hours=1), csr=csr)
    [warning] = again.warnings
    assert f"certificate {first.cert.serial_number:x}" in warning and "keyCompromise" in warning
    assert "generate a new key" in warning
    assert warning in caplog.text
    assert ca.record(again.cert.serial_number) is not None  # warned, and issued
    assert ca.issue_sign(MEMBER, now=NOW, csr=make_csr(token, "new", SUBJECT)).warnings == ()
    server = SecurityServerId("EE", "GOV", "70000001", "gw1")  # by public key too, whatever the kind
    assert ca.issue_auth(server, now=NOW, public_key=token.public_key("old")).warnings == (warning,)


def test_set_to_refuse_it_issues_nothing(ca: CertificateAuthority, token: SoftToken, tmp_path: Path) -> None:
    csr = make_csr(token, "old", SUBJECT)
    ca.revoke(ca.issue_sign(MEMBER, now=NOW, csr=csr).cert, at=NOW)
    assert ca.revoked_key_policy is RevokedKeyPolicy.WARN
    ca.set_revoked_key_policy(RevokedKeyPolicy.REFUSE)
    before = len(ca.issued())
    with pytest.raises(CaError) as info:
        ca.issue_sign(MEMBER, now=NOW, csr=csr)
    assert info.value.code == "trust.ca.revoked_key" and "generate a new key" in str(info.value)
    assert len(ca.issued()) == before
    assert ca.issue_sign(MEMBER, now=NOW, csr=make_csr(token, "new", SUBJECT)).warnings == ()
    reopened = CertificateAuthority.open(tmp_path / "ca", pin="ca-pin")  # the setting is in ca.json
    try:
        assert reopened.revoked_key_policy is RevokedKeyPolicy.REFUSE
    finally:
        reopened.close()


def test_a_ca_made_before_the_setting_warns(ca: CertificateAuthority, tmp_path: Path) -> None:
    config = json.loads((tmp_path / "ca" / "ca.json").read_text())
    del config["revoked_key"]
    (tmp_path / "ca" / "ca.json").write_text(json.dumps(config))
    old = CertificateAuthority.open(tmp_path / "ca", pin="ca-pin")
    try:
        assert old.revoked_key_policy is RevokedKeyPolicy.WARN
    finally:
        old.close()


def _run(args: list[str]) -> tuple[int, str]:
    sild_cli._register()
    result = CliRunner().invoke(sild_cli.cli, args, env={"SILD_TOKEN_PIN": "cli-pin"}, catch_exceptions=False)
    return result.exit_code, result.output


def test_the_cli_says_the_warning_and_sets_the_policy(tmp_path: Path, token: SoftToken) -> None:
    ca_dir = tmp_path / "cli-ca"
    code, out = _run(["trust", "init", str(ca_dir), "--instance", "EE", "--key-type", "ec-p256",
                      "--revoked-key", "warn"])
    assert code == 0, out
    (tmp_path / "r.csr").write_bytes(make_csr(token, "old", SUBJECT))
    issue = ["trust", "issue", str(ca_dir), "--kind", "sign", "--member", "EE/GOV/70000001", "--csr",
             str(tmp_path / "r.csr"), "--out"]
    assert _run([*issue, str(tmp_path / "one")])[0] == 0
    assert _run(["trust", "revoke", str(ca_dir), "--cert", str(tmp_path / "one.pem")])[0] == 0
    code, out = _run([*issue, str(tmp_path / "two")])
    assert code == 0 and "sild: warning: this key was certified before" in out, out
    assert _run(["trust", "revoked-key-policy", str(ca_dir)]) == (0, "revoked-key policy: warn\n")
    assert _run(["trust", "revoked-key-policy", str(ca_dir), "refuse"]) == (0, "revoked-key policy: refuse\n")
    code, out = _run([*issue, str(tmp_path / "three")])
    assert code == 1 and "sild: error: this key was certified before" in out, out
    assert not (tmp_path / "three.pem").exists()
