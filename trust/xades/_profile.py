"""Who a signing certificate belongs to, per the CA's certificate profile.

X-Road's shared parameters name, per approved CA, a ``certificateProfileInfo``: the
*Java class name* of the provider that knows how that CA writes member identities
into certificate subjects [NOTES 5, 9.12]. sild maps those names to subject rules:

==========  =====================================================================
profile     sign certificate subject
==========  =====================================================================
EJBCA       ``C`` = instance, ``O`` = member class, ``CN`` = member code
            (also X-Road's *Default* profile, and what sild's own CA issues)
FiVRK       ``serialNumber`` = ``instance/serverCode/memberClass``, ``CN`` = code
Basic       ``businessCategory`` = member class, ``serialNumber`` = member code
SK          ``organizationIdentifier`` (``NTREE-<code>`` style) or ``serialNumber``
            = member code; the class is not in the certificate
==========  =====================================================================

Verification asks :func:`signer_matches`; it never trusts a subject it cannot map.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from cryptography import x509
from cryptography.x509.oid import NameOID

from trust.protocol import MemberId
from ._errors import SignerMismatch, UnknownCertificateProfile

_PREFIX = "ee.ria.xroad.common.certificateprofile.impl."
EJBCA = _PREFIX + "EjbcaCertificateProfileInfoProvider"
DEFAULT = _PREFIX + "DefaultCertificateProfileInfoProvider"
FIVRK = _PREFIX + "FiVRKCertificateProfileInfoProvider"
BASIC = _PREFIX + "BasicCertificateProfileInfoProvider"
SK_ESTEID = _PREFIX + "SkEsteidCertificateProfileInfoProvider"
SK_KLASS3 = _PREFIX + "SkKlass3CertificateProfileInfoProvider"

_ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")


@dataclass(frozen=True)
class SubjectIdentity:
    """What a certificate subject says about its member; ``member_class`` None when the profile omits it."""

    instance: str | None
    member_class: str | None
    member_code: str

    def matches(self, member: MemberId) -> bool:
        return (
            self.member_code == member.member_code
            and (self.instance is None or self.instance == member.instance)
            and (self.member_class is None or self.member_class == member.member_class)
        )

    def member(self, instance: str) -> MemberId | None:
        """The full member id, when the subject determines it."""
        if self.member_class is None:
            return None
        return MemberId(self.instance or instance, self.member_class, self.member_code)


def _one(cert: x509.Certificate, oid: x509.ObjectIdentifier, what: str) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    if len(values) != 1:
        raise SignerMismatch(f"signer certificate subject must have exactly one {what}, it has {len(values)}")
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8")


def _ejbca(cert: x509.Certificate, instance: str) -> SubjectIdentity:
    return SubjectIdentity(
        _one(cert, NameOID.COUNTRY_NAME, "C"),
        _one(cert, NameOID.ORGANIZATION_NAME, "O"),
        _one(cert, NameOID.COMMON_NAME, "CN"),
    )


def _fivrk(cert: x509.Certificate, instance: str) -> SubjectIdentity:
    serial = _one(cert, NameOID.SERIAL_NUMBER, "serialNumber")
    parts = serial.split("/")
    if len(parts) != 3 or not all(parts):
        raise SignerMismatch(f"FiVRK serialNumber {serial!r} is not instance/serverCode/memberClass")
    return SubjectIdentity(parts[0], parts[2], _one(cert, NameOID.COMMON_NAME, "CN"))


def _basic(cert: x509.Certificate, instance: str) -> SubjectIdentity:
    return SubjectIdentity(
        None,
        _one(cert, NameOID.BUSINESS_CATEGORY, "businessCategory"),
        _one(cert, NameOID.SERIAL_NUMBER, "serialNumber"),
    )


def _sk(cert: x509.Certificate, instance: str) -> SubjectIdentity:
    if cert.subject.get_attributes_for_oid(_ORGANIZATION_IDENTIFIER):
        code = _one(cert, _ORGANIZATION_IDENTIFIER, "organizationIdentifier")
        # ETSI EN 319 412-1 semantics identifier: NTR + country + '-' + registry code
        if len(code) > 6 and code[5] == "-" and code[:3].isalpha():
            code = code[6:]
    else:
        code = _one(cert, NameOID.SERIAL_NUMBER, "serialNumber")
    return SubjectIdentity(None, None, code)


_RULES: dict[str, Callable[[x509.Certificate, str], SubjectIdentity]] = {
    EJBCA: _ejbca,
    DEFAULT: _ejbca,
    FIVRK: _fivrk,
    BASIC: _basic,
    SK_ESTEID: _sk,
    SK_KLASS3: _sk,
}


def known_profiles() -> tuple[str, ...]:
    return tuple(_RULES)


@functools.lru_cache(maxsize=1024)
def subject_identity(cert: x509.Certificate, profile: str, instance: str) -> SubjectIdentity:
    """Read the member identity out of a sign certificate's subject under ``profile``.

    Memoised (a pure function of its arguments): gateways ask for the same few
    certificates on every message, and reading a subject costs as much as a verification.
    """
    rule = _RULES.get(profile.strip())
    if rule is None:
        raise UnknownCertificateProfile(f"unknown certificateProfileInfo {profile!r}")
    return rule(cert, instance)


def signer_member(cert: x509.Certificate, profile: str, instance: str) -> MemberId | None:
    """The member a sign certificate names, or None when the profile does not name the class."""
    return subject_identity(cert, profile, instance).member(instance)


def signer_matches(cert: x509.Certificate, profile: str, member: MemberId) -> None:
    """Raise :class:`SignerMismatch` unless ``cert`` belongs to ``member`` under ``profile``."""
    identity = subject_identity(cert, profile, member.instance)
    if not identity.matches(member):
        named = identity.member(member.instance)
        shown = named.to_text() if named is not None else f"member code {identity.member_code}"
        raise SignerMismatch(
            f"signer certificate belongs to {shown}, not to {member.to_text()} (certificate profile {profile.rsplit('.', 1)[-1]})"
        )
