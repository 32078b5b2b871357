"""``sild gateway init`` makes the admin API's certificate and takes where the admin port listens."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from federation.anchor import write_anchor
from federation.model import AnchorSource, ConfigurationAnchor
from gateway.cli import cli
from gateway.cli._main import _register
from gateway.settings import NodeSettings


def test_init_makes_the_admin_certificate_and_prints_its_fingerprint(tmp_path: Path, monkeypatch) -> None:
    anchor = tmp_path / "anchor.xml"
    anchor.write_bytes(write_anchor(ConfigurationAnchor(
        "EE", (AnchorSource("https://cs.example/internalconf", (b"\x30\x01\x00",)),),
        generated_at=dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc))))
    monkeypatch.setenv("SILD_TOKEN_PIN", "admin-tls-pin")
    _register()
    gdir = tmp_path / "gw"
    result = CliRunner().invoke(cli, ["gateway", "init", str(gdir), "--anchor", str(anchor), "--server",
                                      "EE/GOV/70000001/gw1", "--key-type", "ec-p256", "--admin-port", "4000",
                                      "--admin-listen", "10.0.0.5"])
    assert result.exit_code == 0, result.output
    assert NodeSettings.load(gdir).admin_listen == "10.0.0.5"
    cert = x509.load_pem_x509_certificate((gdir / "admin-tls" / "admin.crt").read_bytes())
    fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert f"admin API: 10.0.0.5:4000; certificate {gdir / 'admin-tls' / 'admin.crt'} SHA-256 {fingerprint}" \
        in result.output
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "10.0.0.5" in {str(n.value) for n in names}
