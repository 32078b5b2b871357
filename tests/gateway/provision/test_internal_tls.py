"""gateway.provision._internal_tls: the internal TLS certificate, made once, valid past 2050."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.provision import INTERNAL_KEY, ensure_internal_tls, init_gateway
from trust.keys import KeyType, SoftToken

PIN = "1234"


def test_the_internal_certificate_is_made_once_and_may_end_after_2050(tmp_path):
    """Ten years from 2045 end in 2055: UTCTime cannot hold that year, GeneralizedTime does."""
    gdir = tmp_path / "gw"
    init_gateway(gdir, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256)
    now = dt.datetime(2045, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    path = ensure_internal_tls(gdir, pin=PIN, now=now)
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    assert cert.not_valid_before_utc == now - dt.timedelta(minutes=5)
    assert cert.not_valid_after_utc == now + dt.timedelta(days=3650)
    assert cert.not_valid_after_utc.year == 2055
    assert cert.subject == cert.issuer
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.public_key() == SoftToken(gdir / "token", PIN).public_key(INTERNAL_KEY)
    first = path.read_bytes()
    assert ensure_internal_tls(gdir, pin=PIN, now=now + dt.timedelta(days=1)) == path
    assert path.read_bytes() == first  # kept: information systems pinned it
