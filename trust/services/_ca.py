"""A certificate authority over one directory, for development, sandboxes and small countries.

Layout of the directory::

    ca.json          instance, key type, URLs (no secrets)
    token/           SoftToken: root, intermediate, ocsp and tsa keys, PKCS#8 encrypted with the PIN
    certs/           root.pem, intermediate.pem (optional), ocsp.pem, tsa.pem
    issued/          <serial hex>.pem, one per issued certificate
    ca.db            SQLite register of issued and revoked certificates (see ``ca_db``)
    tsa-serial       boot counter of the TSA serial numbers

The issuing CA is the intermediate when there is one, else the root. It delegates
OCSP to a certificate with EKU OCSPSigning and id-pkix-ocsp-nocheck (RFC 6960
4.2.2.2) and issues the TSA a certificate whose EKU timeStamping is critical
(RFC 3161 2.3). Member certificates follow X-Road's EJBCA profile (NOTES 7):
sign certificates ``C=instance, O=member class, CN=member code`` with
nonRepudiation; gateway auth certificates add ``serialNumber=INSTANCE/SERVER/CLASS``
and carry digitalSignature + keyEncipherment with EKU serverAuth + clientAuth.
A request for a key that this CA certified before in a since revoked certificate is
answered with a warning, or refused when ``ca.json`` says ``"revoked_key": "refuse"``.

The errors and enumerations are in :mod:`._ca_types`, the shapes of the
certificates (names, extensions, serials) in :mod:`._ca_profile`; this module keeps
the directory, the keys, the register and the order of issuing.

Private keys are used here directly (certificate building needs the key object);
they never leave ``trust``. A key the CA generates for a requester is handed out
only as a PKCS#8 PEM encrypted with the PIN.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from trust.keys import DigestAlgorithm
from trust.pki import ApprovedCa, ApprovedTsa, OcspResponderInfo
from ._ca_db import CaDatabase, CertificateRecord
from trust.pki import cert_pem, fingerprint_hex, load_certificate, load_certificate_file, require_aware
from trust.protocol import MemberId, SecurityServerId
from trust.keys import DEV_PIN, KeyType, PrivateKey, PublicKey, SoftToken, write_atomic

from ._ca_profile import (
    OCSP_RESPONDER_PROFILE, TSA_PROFILE, _ca_builder, _check_public_key, _csr_public_key, _leaf_builder,
    _member_profile, _name, _serial, _service_cert, _service_record, _sig_hash, _subject_text,
)
from ._ca_types import (
    AlreadyRevoked, CaAlreadyExists, CaError, CaNotInitialised, CertificateKind, CsrInvalid, IssuedCertificate,
    RevocationReason, RevokedKeyPolicy, UnknownCertificate,
)

log = logging.getLogger("sild.trust.ca")


ROOT, INTERMEDIATE, OCSP, TSA = "root", "intermediate", "ocsp", "tsa"


class CertificateAuthority:
    """Root (+ optional intermediate), delegated OCSP and TSA certificates, and a register."""

    def __init__(self, directory: Path, token: SoftToken, config: dict[str, object]) -> None:
        self.directory = directory
        self.token = token
        self.config = config
        self.instance = str(config["instance"])
        self.key_type = KeyType(str(config["key_type"]))
        self.root_cert = load_certificate_file(directory / "certs" / "root.pem")
        self.intermediate_cert = (
            load_certificate_file(directory / "certs" / "intermediate.pem") if config.get("intermediate") else None
        )
        self.ocsp_cert = load_certificate_file(directory / "certs" / "ocsp.pem")
        self.tsa_cert = load_certificate_file(directory / "certs" / "tsa.pem")
        self.db = CaDatabase(f"sqlite:///{directory / 'ca.db'}")

    # -- creation ----------------------------------------------------------
    @classmethod
    def init(
        cls,
        directory: Path | str,
        *,
        instance: str,
        pin: str,
        now: dt.datetime,
        key_type: KeyType = KeyType.RSA2048,
        intermediate: bool = False,
        ocsp_url: str | None = None,
        tsa_url: str | None = None,
        organisation: str | None = None,
        revoked_key: RevokedKeyPolicy = RevokedKeyPolicy.WARN,
    ) -> "CertificateAuthority":
        now = require_aware(now)
        directory = Path(directory)
        if (directory / "ca.json").exists():
            raise CaAlreadyExists(f"{directory} already holds a CA")
        if not instance or "/" in instance:
            raise CaError(f"invalid instance code {instance!r}", code="trust.ca.bad_instance")
        org = organisation or f"{instance} sild trust services"
        token = SoftToken(directory / "token", pin)
        start = now - dt.timedelta(minutes=5)  # tolerate small clock differences of relying parties

        def key(key_id: str) -> PrivateKey:
            token.generate(key_id, key_type)
            return token._private_key(key_id)

        root_key = key(ROOT)
        root_name = _name((NameOID.ORGANIZATION_NAME, org), (NameOID.COMMON_NAME, f"{instance} Root CA"))
        root = _ca_builder(root_name, root_name, root_key.public_key(), root_key.public_key(), start,
                           start + dt.timedelta(days=365 * 20), path_length=1 if intermediate else 0)
        root_cert = root.sign(root_key, _sig_hash(root_key))
        issuer_cert, issuer_key = root_cert, root_key
        certs_dir = directory / "certs"
        write_atomic(certs_dir / "root.pem", cert_pem(root_cert))
        if intermediate:
            int_key = key(INTERMEDIATE)
            int_name = _name((NameOID.ORGANIZATION_NAME, org), (NameOID.COMMON_NAME, f"{instance} Issuing CA"))
            int_cert = _ca_builder(int_name, root_name, int_key.public_key(), root_key.public_key(), start,
                                   start + dt.timedelta(days=365 * 10), path_length=0).sign(
                root_key, _sig_hash(root_key))
            write_atomic(certs_dir / "intermediate.pem", cert_pem(int_cert))
            issuer_cert, issuer_key = int_cert, int_key
        not_after = min(start + dt.timedelta(days=365 * 5), issuer_cert.not_valid_after_utc)
        ocsp_key = key(OCSP)
        ocsp_cert = _service_cert(
            OCSP_RESPONDER_PROFILE, _name((NameOID.ORGANIZATION_NAME, org), (NameOID.COMMON_NAME, f"{instance} OCSP Responder")),
            issuer_cert, issuer_key, ocsp_key.public_key(), start, not_after)
        write_atomic(certs_dir / "ocsp.pem", cert_pem(ocsp_cert))
        tsa_key = key(TSA)
        tsa_cert = _service_cert(
            TSA_PROFILE, _name((NameOID.ORGANIZATION_NAME, org), (NameOID.COMMON_NAME, f"{instance} Timestamping Authority")),
            issuer_cert, issuer_key, tsa_key.public_key(), start, not_after)
        write_atomic(certs_dir / "tsa.pem", cert_pem(tsa_cert))
        # the register lists every certificate the CA keys signed, so the responder can
        # answer for the intermediate (X-Road checks OCSP for all but the root) and the
        # service certificates as well
        database = CaDatabase(f"sqlite:///{directory / 'ca.db'}")
        try:
            if intermediate:
                database.insert(_service_record("intermediate", issuer_cert, root_cert, now), lambda: None)
            database.insert(_service_record("ocsp", ocsp_cert, issuer_cert, now), lambda: None)
            database.insert(_service_record("tsa", tsa_cert, issuer_cert, now), lambda: None)
        finally:
            database.close()
        config: dict[str, object] = {
            "format": 1,
            "instance": instance,
            "key_type": key_type.value,
            "intermediate": intermediate,
            "ocsp_url": ocsp_url,
            "tsa_url": tsa_url,
            "revoked_key": revoked_key.value,
            "created": now.isoformat(),
        }
        # ca.json is written last: its presence marks a complete CA directory
        write_atomic(directory / "ca.json", json.dumps(config, indent=2).encode("utf-8") + b"\n")
        return cls(directory, token, config)

    @classmethod
    def open(cls, directory: Path | str, *, pin: str) -> "CertificateAuthority":
        directory = Path(directory)
        try:
            config = json.loads((directory / "ca.json").read_text("utf-8"))
        except FileNotFoundError:
            raise CaNotInitialised(f"{directory} is not a CA directory (run `sild trust init`)") from None
        except (OSError, ValueError) as exc:
            raise CaError(f"cannot read {directory / 'ca.json'}: {exc}") from exc
        token = SoftToken(directory / "token", pin)
        token._private_key(ROOT)  # fails early with WrongPin
        return cls(directory, token, config)

    def close(self) -> None:
        self.db.close()

    # -- views -------------------------------------------------------------
    @property
    def issuing_cert(self) -> x509.Certificate:
        return self.intermediate_cert or self.root_cert

    @property
    def issuing_key_id(self) -> str:
        return INTERMEDIATE if self.intermediate_cert is not None else ROOT

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        return (self.intermediate_cert,) if self.intermediate_cert is not None else ()

    @property
    def chain_pem(self) -> bytes:
        """Issuing chain, leaf side first, root last (for ``-CAfile``/``-untrusted`` use)."""
        return b"".join(cert_pem(c) for c in (*self.intermediates, self.root_cert))

    @property
    def ocsp_url(self) -> str | None:
        value = self.config.get("ocsp_url")
        return str(value) if value else None

    @property
    def revoked_key_policy(self) -> RevokedKeyPolicy:
        """``warn`` (the default, also for CAs made before the setting) or ``refuse``."""
        return RevokedKeyPolicy(str(self.config.get("revoked_key") or RevokedKeyPolicy.WARN.value))

    def set_revoked_key_policy(self, policy: RevokedKeyPolicy) -> None:
        self.config = {**self.config, "revoked_key": policy.value}
        write_atomic(self.directory / "ca.json", json.dumps(self.config, indent=2).encode("utf-8") + b"\n")

    def _revoked_key_warnings(self, public_key: PublicKey) -> tuple[str, ...]:
        """Why certifying ``public_key`` again is suspect: each revoked certificate of this CA for it.

        A key is revoked because it was compromised or retired; certifying it again (an
        operator renewing with the old key's CSR) hands the attacker a fresh certificate.
        Only revoked rows are read, so the check costs the size of the revocation list.
        """
        spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        found = []
        for record in self.db.revoked():
            cert = x509.load_der_x509_certificate(record.der)
            if cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo) == spki:
                assert record.revoked_at is not None
                found.append(f"this key was certified before in certificate {record.serial:x} ({record.subject}), "
                             f"revoked {record.revoked_at.isoformat()} ({record.revocation_reason}); "
                             "generate a new key for the renewal")
        if found and self.revoked_key_policy is RevokedKeyPolicy.REFUSE:
            raise CaError(found[0], code="trust.ca.revoked_key")
        for message in found:
            log.warning("%s", message)
        return tuple(found)

    def approved_ca(self, name: str | None = None, ocsp_url: str | None = None) -> ApprovedCa:
        url = ocsp_url or self.ocsp_url or ""
        return ApprovedCa(
            name=name or f"{self.instance} sild CA",
            top_cert=self.root_cert,
            intermediates=self.intermediates,
            ocsp_responders=(OcspResponderInfo(url=url, cert=self.ocsp_cert),),
        )

    def approved_tsa(self, url: str, name: str | None = None) -> ApprovedTsa:
        return ApprovedTsa(name=name or f"{self.instance} sild TSA", url=url, cert=self.tsa_cert)

    # -- issuance ----------------------------------------------------------
    def issue_auth(self, server: SecurityServerId, *, now: dt.datetime, csr: bytes | None = None,
                   public_key: PublicKey | None = None, key_type: KeyType | None = None,
                   validity_days: int = 730) -> IssuedCertificate:
        """Gateway auth certificate. The key comes from ``csr`` (checked), or ``public_key``
        (a trusted local caller, e.g. a sandbox whose token generated it), or is generated."""
        subject = _name(
            (NameOID.COUNTRY_NAME, server.instance), (NameOID.ORGANIZATION_NAME, server.member_class),
            (NameOID.COMMON_NAME, server.member_code),
            (NameOID.SERIAL_NUMBER, f"{server.instance}/{server.server_code}/{server.member_class}"),
        )
        return self._issue(CertificateKind.AUTH, subject, server.owner, server.server_code, now=now, csr=csr,
                           public_key=public_key, key_type=key_type, validity_days=validity_days)

    def issue_sign(self, member: MemberId, *, now: dt.datetime, csr: bytes | None = None,
                   public_key: PublicKey | None = None, key_type: KeyType | None = None,
                   validity_days: int = 730) -> IssuedCertificate:
        """Member sign certificate; the key as for :meth:`issue_auth`."""
        subject = _name((NameOID.COUNTRY_NAME, member.instance), (NameOID.ORGANIZATION_NAME, member.member_class),
                        (NameOID.COMMON_NAME, member.member_code))
        return self._issue(CertificateKind.SIGN, subject, member, None, now=now, csr=csr, public_key=public_key,
                           key_type=key_type, validity_days=validity_days)

    def _issue(self, kind: CertificateKind, subject: x509.Name, member: MemberId, server_code: str | None, *,
               now: dt.datetime, csr: bytes | None, public_key: PublicKey | None, key_type: KeyType | None,
               validity_days: int) -> IssuedCertificate:
        now = require_aware(now)
        if member.instance != self.instance:
            raise CaError(f"this CA serves instance {self.instance}, not {member.instance}",
                          code="trust.ca.wrong_instance")
        if not 1 <= validity_days <= 3650:
            raise CaError("validity must be 1 to 3650 days", code="trust.ca.bad_validity")
        encrypted: bytes | None = None
        warnings: tuple[str, ...] = ()
        if csr is not None and public_key is not None:
            raise CaError("give a CSR or a public key, not both", code="trust.ca.usage")
        if csr is not None or public_key is not None:
            public_key = _csr_public_key(csr) if csr is not None else _check_public_key(public_key)
            warnings = self._revoked_key_warnings(public_key)
        else:
            private = (key_type or self.key_type).generate()
            public_key = private.public_key()
            encrypted = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(self.token._need_pin()),
            )
        issuer = self.issuing_cert
        issuer_key = self.token._private_key(self.issuing_key_id)
        start = now - dt.timedelta(minutes=5)
        not_after = min(now + dt.timedelta(days=validity_days), issuer.not_valid_after_utc)
        builder = _leaf_builder(subject, issuer, public_key, start, not_after)
        builder = _member_profile(builder, kind, self.ocsp_url)
        for _attempt in range(3):
            cert = builder.serial_number(_serial()).sign(issuer_key, _sig_hash(issuer_key))
            record = CertificateRecord(
                serial=cert.serial_number, kind=kind.value, subject=_subject_text(cert),
                member=member.to_text(), server_code=server_code,
                issuer_fingerprint=fingerprint_hex(issuer), sha256_hex=fingerprint_hex(cert),
                not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc, issued_at=now,
                revoked_at=None, revocation_reason=None, der=cert.public_bytes(serialization.Encoding.DER),
            )
            path = self.directory / "issued" / f"{cert.serial_number:040x}.pem"
            try:
                self.db.insert(record, lambda: write_atomic(path, cert_pem(cert)))
            except CaError as exc:
                if exc.code == "trust.ca.serial_collision":
                    continue
                raise
            return IssuedCertificate(cert, encrypted, warnings)
        raise CaError("could not find a free serial number", code="trust.ca.serial_collision")

    # -- revocation and status ---------------------------------------------
    def revoke(self, cert: x509.Certificate | int, *, at: dt.datetime,
               reason: RevocationReason = RevocationReason.UNSPECIFIED) -> CertificateRecord:
        serial = cert if isinstance(cert, int) else cert.serial_number
        at = require_aware(at).replace(microsecond=0)
        record = self.db.get(serial)
        if record is None or (not isinstance(cert, int) and record.der != cert.public_bytes(serialization.Encoding.DER)):
            raise UnknownCertificate(f"certificate {serial:x} was not issued by this CA")
        if record.revoked:
            raise AlreadyRevoked(f"certificate {serial:x} was already revoked at {record.revoked_at}")
        if not self.db.revoke(serial, at, reason.value):
            raise AlreadyRevoked(f"certificate {serial:x} was revoked meanwhile")
        updated = self.db.get(serial)
        assert updated is not None
        return updated

    def record(self, serial: int) -> CertificateRecord | None:
        return self.db.get(serial)

    def issued(self) -> list[CertificateRecord]:
        return self.db.all()


def load_ca_certificates(directory: Path | str) -> Sequence[x509.Certificate]:
    """Root and intermediate of a CA directory, without opening its token."""
    certs_dir = Path(directory) / "certs"
    out = [load_certificate((certs_dir / "root.pem").read_bytes())]
    if (certs_dir / "intermediate.pem").exists():
        out.append(load_certificate((certs_dir / "intermediate.pem").read_bytes()))
    return out


__all__ = [
    "DEV_PIN", "AlreadyRevoked", "CaAlreadyExists", "CaError", "CaNotInitialised", "CertificateAuthority",
    "CertificateKind", "CsrInvalid", "DigestAlgorithm", "IssuedCertificate", "RevocationReason", "RevokedKeyPolicy",
    "UnknownCertificate",
]
