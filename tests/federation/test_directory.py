"""Signed configuration directories: X-Road's vectors, sild's own, and tampering."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from lxml import etree

from federation.anchor import parse_anchor
from federation.directory import DirectoryEntry, build_directory, parse_directory, verify_directory
from federation.model import AnchorSource, ConfigurationAnchor, SharedParameters
from federation.model import (
    ConfError, ConfBadSignature, ConfExpired, ConfHashMismatch, ConfInstanceMismatch, ConfMalformed,
    ConfMissingExpiry, ConfMissingPart, ConfMissingSignature, ConfSchemaInvalid, ConfUnknownVerificationCert,
)
from federation.model import (
    parse_private_parameters, parse_shared_parameters, write_private_parameters, write_shared_parameters,
)
from trust.keys import KeyType

from tests.federation.directory_support import SigningIdentity, make_signing_identity, xroad_schema
from tests.support.conformance import XROAD

GC = XROAD / "globalconf"
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def _served_part(location: str) -> bytes:
    return (GC / "served" / location.lstrip("/")).read_bytes()


def _own_certs(version: int, kind: str) -> tuple[bytes, ...]:
    shared = parse_shared_parameters(next((GC / f"served/V{version}").glob("*/shared-params.xml")).read_bytes())
    return shared.verification_certs(internal=kind == "internal")


# (version, kind, trust source, expected outcome) as the vectors' README says
SERVED = [
    (3, "internal", "own", None),
    (3, "external", "own", None),
    (4, "internal", "own", None),
    (4, "external", "own", None),
    (5, "internal", "own", None),
    (5, "external", "own", None),
    (6, "internal", "anchor", None),
    (6, "external", "own", ConfHashMismatch),
]


@pytest.mark.parametrize("version,kind,trust,outcome", SERVED, ids=[f"V{v}-{k}conf" for v, k, _, _ in SERVED])
@pytest.mark.conformance(area="directory", vector="globalconf/served/V{version}/{kind}conf",
                         expected=lambda p: f"verifies against the {p['trust']} certificates" if p["outcome"] is None
                         else f"refused: {p['outcome'].__name__}")
def test_served_directories(version: int, kind: str, trust: str, outcome: type[Exception] | None) -> None:
    data = (GC / f"served/V{version}/{kind}conf").read_bytes()
    certs: ConfigurationAnchor | tuple[bytes, ...]
    if trust == "anchor":
        certs = parse_anchor((GC / "anchors/configuration_anchor_CS_internal.xml").read_bytes())
    else:
        certs = _own_certs(version, kind)
    if outcome is not None:
        with pytest.raises(outcome, match="SHARED-PARAMETERS"):
            verify_directory(data, certs, at=AT, fetch_part=_served_part)
        return
    verified = verify_directory(data, certs, at=AT, fetch_part=_served_part)
    assert verified.version == version
    assert verified.expires_at.year in (2034, 2035)
    assert verified.shared_parameters is not None
    assert verified.shared_parameters.instance == verified.instance
    assert (verified.private_parameters is not None) == (kind == "internal")
    for part in verified.parts:
        assert part.data == _served_part(part.location)


def test_v6_internal_is_not_signed_by_its_own_shared_parameters_certificate() -> None:
    data = (GC / "served/V6/internalconf").read_bytes()
    with pytest.raises(ConfUnknownVerificationCert):
        verify_directory(data, _own_certs(6, "internal"), at=AT, fetch_part=_served_part)


def test_served_directory_expiry_is_enforced() -> None:
    data = (GC / "served/V5/internalconf").read_bytes()
    later = dt.datetime(2040, 1, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(ConfExpired):
        verify_directory(data, _own_certs(5, "internal"), at=later, fetch_part=_served_part)


BROKEN_DIRECTORIES = {
    "test-conf-malformed.txt": ConfMalformed,
    "test-conf-missing-date.txt": ConfMissingExpiry,
    "test-conf-missing-signature.txt": ConfMissingSignature,
    "test-conf-invalid-signature.txt": ConfBadSignature,
}


@pytest.mark.parametrize("name", sorted(BROKEN_DIRECTORIES), ids=sorted(BROKEN_DIRECTORIES))
@pytest.mark.conformance(area="directory", vector="globalconf/directories/{name}",
                         expected=lambda p: f"refused: {BROKEN_DIRECTORIES[p['name']].__name__}")
def test_broken_directories_are_refused_with_their_own_error(name: str) -> None:
    error = BROKEN_DIRECTORIES[name]
    with pytest.raises(error) as info:
        parse_directory((GC / "directories" / name).read_bytes())
    # each broken vector gets a different leaf (not just the parent class)
    assert type(info.value) is error
    # and verification refuses it with the same error before looking at certificates
    with pytest.raises(error):
        verify_directory((GC / "directories" / name).read_bytes(), [], at=AT, instance="EE")


GOOD_DIRECTORIES = {
    "test-conf-simple.txt": ["PRIVATE-PARAMETERS", "SHARED-PARAMETERS", "FOO"],
    "test-conf-detached.txt": ["PRIVATE-PARAMETERS"],
}


@pytest.mark.parametrize("name", sorted(GOOD_DIRECTORIES), ids=sorted(GOOD_DIRECTORIES))
@pytest.mark.conformance(area="directory", vector="globalconf/directories/{name}",
                         expected="parses; part hashes match the files beside it")
def test_good_directories_parse_and_hashes_match_the_files_beside_them(name: str) -> None:
    directory = parse_directory((GC / "directories" / name).read_bytes())
    assert [p.content_identifier for p in directory.parts] == GOOD_DIRECTORIES[name]
    assert {p.instance for p in directory.parts} == {"EE"}
    assert directory.version == 2  # no Version header
    assert directory.expire_date == dt.datetime(2026, 5, 20, 17, 42, 55, tzinfo=dt.timezone.utc)
    folder = GC / "directories" / name.removesuffix(".txt") / "EE"
    for part in directory.parts:
        data = (folder / part.location.lstrip("/")).read_bytes()
        assert hashlib.sha512(data).digest() == part.digest
    # no anchor here knows the signer (X-Road's unit-test key)
    with pytest.raises(ConfUnknownVerificationCert):
        verify_directory((GC / "directories" / name).read_bytes(), [], at=AT, instance="EE")


# -- sild's own directories ------------------------------------------------------------


@pytest.fixture(scope="module", params=[KeyType.RSA2048, KeyType.EC_P256], ids=["rsa", "ecdsa"])
def signer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    return make_signing_identity(tmp_path_factory.mktemp("token"), request.param)


@pytest.fixture(scope="module")
def shared() -> SharedParameters:
    return parse_shared_parameters((GC / "parsed/globalconf_good_v6/EE/shared-params.xml").read_bytes(), version=6)


def _build(signer: SigningIdentity, files: dict[str, tuple[str, bytes]], expire: dt.datetime | None = None) -> bytes:
    entries = [DirectoryEntry(ci, "EE", loc, data) for loc, (ci, data) in files.items()]
    return build_directory(
        entries,
        expire_date=expire or AT + dt.timedelta(minutes=10),
        version=6,
        signer=signer.token,
        key_id=signer.key_id,
        cert=signer.cert,
    )


def _independent_verify(data: bytes, cert: x509.Certificate, files: dict[str, bytes]) -> dict[str, str]:
    """A verifier written from NOTES section 5 alone, sharing no code with sild."""
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF everywhere
    head = re.match(rb"Content-Type: multipart/related; charset=UTF-8; boundary=(\S+)\r\n\r\n", data)
    assert head is not None
    outer = head.group(1)
    body = data[head.end() :]
    assert body.startswith(b"--" + outer + b"\r\n")
    first_part, rest = body[len(outer) + 4 :].split(b"\r\n--" + outer + b"\r\n", 1)
    sig_part, tail = rest.split(b"\r\n--" + outer + b"--", 1)
    assert tail == b"\r\n"
    first_headers, signed = first_part.split(b"\r\n\r\n", 1)
    inner = re.search(rb"multipart/mixed; charset=UTF-8; boundary=(\S+)", first_headers).group(1)  # type: ignore[union-attr]
    assert signed.startswith(b"--" + inner + b"\r\n") and signed.endswith(b"--" + inner + b"--\r\n")
    sig_headers, sig_b64 = sig_part.split(b"\r\n\r\n", 1)
    sig = base64.b64decode(sig_b64)
    algorithm = re.search(rb"Signature-Algorithm-Id: (\S+)", sig_headers).group(1).decode()
    cert_hash = re.search(rb"Verification-certificate-hash: ([^;]+);", sig_headers).group(1)
    from cryptography.hazmat.primitives import serialization

    assert base64.b64decode(cert_hash) == hashlib.sha512(cert.public_bytes(serialization.Encoding.DER)).digest()
    key = cert.public_key()
    if algorithm.endswith("#rsa-sha512"):
        key.verify(sig, signed, padding.PKCS1v15(), hashes.SHA512())  # type: ignore[union-attr,call-arg]
    else:
        assert algorithm.endswith("#ecdsa-sha512")
        key.verify(sig, signed, ec.ECDSA(hashes.SHA512()))  # type: ignore[union-attr,call-arg]
    headers_text = signed.split(b"--" + inner + b"\r\n")[1].decode()
    assert re.search(r"Expire-date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\r\nVersion: 6\r\n", headers_text)
    found = {}
    for block in signed.split(b"--" + inner + b"\r\n")[2:]:
        text = block.decode().replace("--" + inner.decode() + "--\r\n", "")
        location = re.search(r"Content-location: (\S+)", text).group(1)
        ident = re.search(r"Content-identifier: (.+)\r\n", text).group(1)
        digest = base64.b64decode(text.strip().split("\r\n")[-1])
        assert hashlib.sha512(files[location]).digest() == digest
        found[location] = ident
    return found


@pytest.mark.conformance(area="directory", vector="schemas/globalconf/v6/shared-parameters.xsd")
def test_sild_directory_verifies_with_an_independent_verifier(signer: SigningIdentity, shared: SharedParameters) -> None:
    shared_xml = write_shared_parameters(shared)
    files = {"/V6/20260601/shared-params.xml": ("SHARED-PARAMETERS", shared_xml)}
    data = _build(signer, files)
    found = _independent_verify(data, signer.cert, {loc: b for loc, (_, b) in files.items()})
    assert found == {"/V6/20260601/shared-params.xml": "SHARED-PARAMETERS; instance='EE'"}
    schema = xroad_schema(XROAD, "v6/shared-parameters.xsd")
    assert schema.validate(etree.fromstring(shared_xml)), schema.error_log.last_error
    anchor = ConfigurationAnchor("EE", (AnchorSource("http://127.0.0.1/internalconf", (signer.der,)),))
    verified = verify_directory(data, anchor, at=AT, fetch_part=lambda loc: files[loc][1])
    assert verified.shared_parameters == shared
    assert verified.directory_bytes == data


@pytest.fixture(scope="module")
def internal(signer: SigningIdentity, shared: SharedParameters) -> tuple[bytes, dict[str, bytes], ConfigurationAnchor]:
    private_params = parse_private_parameters((GC / "parsed/globalconf_good_v6/EE/private-params.xml").read_bytes())
    files = {
        "/V6/t/shared-params.xml": ("SHARED-PARAMETERS", write_shared_parameters(shared)),
        "/V6/t/private-params.xml": ("PRIVATE-PARAMETERS", write_private_parameters(private_params)),
    }
    anchor = ConfigurationAnchor("EE", (AnchorSource("http://127.0.0.1/internalconf", (signer.der,)),))
    return _build(signer, files), {loc: b for loc, (_, b) in files.items()}, anchor


def test_every_changed_byte_of_the_directory_is_refused(internal: tuple[bytes, dict[str, bytes], ConfigurationAnchor]) -> None:
    data, files, anchor = internal
    verify_directory(data, anchor, at=AT, parts=files)  # the original is fine
    for position in range(len(data)):
        for mask in (0x01, 0x40):
            tampered = bytearray(data)
            tampered[position] ^= mask
            if mask == 0x40 and not (tampered[position] < 0x80):
                continue
            try:
                verify_directory(bytes(tampered), anchor, at=AT, parts=files)
            except ConfError:
                continue
            pytest.fail(f"changing byte {position} ({data[position - 30:position + 10]!r} ^ {mask:#x}) went unnoticed")


@pytest.mark.parametrize("location", ["/V6/t/shared-params.xml", "/V6/t/private-params.xml"])
def test_tampered_part_is_a_hash_mismatch(internal: tuple[bytes, dict[str, bytes], ConfigurationAnchor], location: str) -> None:
    data, files, anchor = internal
    for position in (0, len(files[location]) // 2, len(files[location]) - 1):
        changed = bytearray(files[location])
        changed[position] ^= 0x20
        with pytest.raises(ConfHashMismatch, match=location):
            verify_directory(data, anchor, at=AT, parts={**files, location: bytes(changed)})


def test_refusals_of_sild_directories(signer: SigningIdentity, internal: tuple[bytes, dict[str, bytes], ConfigurationAnchor]) -> None:
    data, files, anchor = internal
    with pytest.raises(ConfExpired):
        verify_directory(data, anchor, at=AT + dt.timedelta(hours=1), parts=files)
    stranger = ConfigurationAnchor("EE", (AnchorSource("http://x/internalconf", (b"not a known cert",)),))
    with pytest.raises(ConfUnknownVerificationCert):
        verify_directory(data, stranger, at=AT, parts=files)
    missing = dict(files)
    missing.pop("/V6/t/private-params.xml")
    with pytest.raises(ConfMissingPart):
        verify_directory(data, anchor, at=AT, parts=missing)
    with pytest.raises(ConfMissingPart):
        verify_directory(data, anchor, at=AT, fetch_part=lambda loc: (_ for _ in ()).throw(OSError("connection refused")))
    with pytest.raises(ValueError):
        verify_directory(data, anchor, at=dt.datetime(2026, 6, 1), parts=files)


def test_signed_but_schema_invalid_part_is_refused(signer: SigningIdentity) -> None:
    files = {"/V6/x/shared-params.xml": ("SHARED-PARAMETERS", b"<conf>not the schema</conf>")}
    data = _build(signer, files)
    anchor = ConfigurationAnchor("EE", (AnchorSource("http://h/internalconf", (signer.der,)),))
    with pytest.raises(ConfSchemaInvalid):
        verify_directory(data, anchor, at=AT, parts={"/V6/x/shared-params.xml": files["/V6/x/shared-params.xml"][1]})


def test_partner_may_not_publish_another_instances_parameters(signer: SigningIdentity, shared: SharedParameters) -> None:
    xml = write_shared_parameters(shared)  # instance EE
    data = build_directory(
        [DirectoryEntry("SHARED-PARAMETERS", "EE", "/s.xml", xml)],
        expire_date=AT + dt.timedelta(minutes=5),
        version=6,
        signer=signer.token,
        key_id=signer.key_id,
        cert=signer.cert,
    )
    partner_anchor = ConfigurationAnchor("FI", (AnchorSource("http://fi/externalconf", (signer.der,)),))
    with pytest.raises(ConfInstanceMismatch):
        verify_directory(data, partner_anchor, at=AT, parts={"/s.xml": xml})
