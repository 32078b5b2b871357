"""A throw-away test PKI for gateway tests (one root CA, auth and sign certificates).

Used only until/where ``trust.services._ca`` is not needed: the transport tests want real
X.509 certificates and real keys in a real :class:`trust.keys._token.SoftToken`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trust.keys import KeyType, SoftToken

PIN = "1234"


def _name(**parts: str) -> x509.Name:
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "CN": NameOID.COMMON_NAME,
            "serialNumber": NameOID.SERIAL_NUMBER}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts.items()])


@dataclass
class TestCa:
    __test__ = False

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, name: str, now: dt.datetime) -> "TestCa":
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(CN=name)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(key, cert)

    def issue(self, public_key: object, subject: x509.Name, now: dt.datetime, *, auth: bool) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.cert.subject)
             .public_key(public_key).serial_number(x509.random_serial_number())  # type: ignore[arg-type]
             .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365)))
        if auth:
            b = b.add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                                       ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            b = b.add_extension(x509.KeyUsage(False, True, False, False, False, False, False, False, False), critical=True)
        return b.sign(self.key, hashes.SHA256())

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def make_gateway_identity(ca: TestCa, directory: Path, server_text: str, now: dt.datetime) -> dict[str, Path]:
    """Auth key/cert (TLS) and sign key/cert for one gateway; returns file paths."""
    inst, cls_, code, server = server_text.split("/")
    token = SoftToken(directory / "token", PIN)
    auth_pub = token.generate("auth", KeyType.EC_P256)
    sign_pub = token.generate("sign", KeyType.EC_P256)
    auth = ca.issue(auth_pub, _name(C=inst, O=cls_, CN=code, serialNumber=f"{inst}/{server}/{cls_}"), now, auth=True)
    sign = ca.issue(sign_pub, _name(C=inst, O=cls_, CN=code), now, auth=False)
    out = {"token": directory / "token", "auth_cert": directory / "auth.pem", "sign_cert": directory / "sign.pem"}
    out["auth_cert"].write_bytes(auth.public_bytes(serialization.Encoding.PEM))
    out["sign_cert"].write_bytes(sign.public_bytes(serialization.Encoding.PEM))
    return out
