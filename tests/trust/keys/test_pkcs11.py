"""The PKCS#11 token against SoftHSM2: keys made and kept inside it, signing through the Signer seam."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import NameOID

from trust.errors import KeyError_, KeyNotFound, TrustError, UnsupportedAlgorithm, WrongPin
from trust.keys import KeyType, Pkcs11Token, SignatureAlgorithm, Signer, ecdsa_der_to_raw, verify_digest

from tests.support.softhsm import SoftHsm, make_token


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    return make_token(tmp_path / "hsm", monkeypatch)


@pytest.fixture
def token(hsm: SoftHsm) -> Pkcs11Token:
    t = Pkcs11Token(hsm.library, hsm.label, hsm.pin)
    yield t
    t.close()


@pytest.mark.parametrize(
    ("key_type", "algorithm"),
    [
        (KeyType.RSA2048, SignatureAlgorithm.RSA_SHA256),
        (KeyType.RSA2048, SignatureAlgorithm.RSA_SHA512),
        (KeyType.RSA3072, SignatureAlgorithm.RSA_SHA512),
        (KeyType.EC_P256, SignatureAlgorithm.ECDSA_SHA256),
        (KeyType.EC_P256, SignatureAlgorithm.ECDSA_SHA512),
        (KeyType.EC_P384, SignatureAlgorithm.ECDSA_SHA512),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_a_key_made_in_the_token_signs_what_the_library_verifies(token: Pkcs11Token, key_type: KeyType,
                                                                 algorithm: SignatureAlgorithm) -> None:
    public = token.generate("k", key_type)
    assert isinstance(token, Signer)
    digest = algorithm.digest.digest(b"message")
    signature = token.sign("k", algorithm, digest)
    assert verify_digest(public, algorithm, digest, signature)
    assert not verify_digest(public, algorithm, algorithm.digest.digest(b"other"), signature)
    prehashed = utils.Prehashed(algorithm.digest.hash_class())
    if isinstance(public, rsa.RSAPublicKey):  # PKCS#1 v1.5, as the soft token signs
        assert public.key_size == {KeyType.RSA2048: 2048, KeyType.RSA3072: 3072}[key_type]
        public.verify(signature, digest, padding.PKCS1v15(), prehashed)
    else:  # DER (RFC 3279), the Signer contract; the raw form is what XML-DSig gets from it
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, digest, ec.ECDSA(prehashed))
        size = public.curve.key_size
        assert len(ecdsa_der_to_raw(signature, size)) == 2 * ((size + 7) // 8)
    assert token.default_algorithm("k").is_ecdsa == isinstance(public, ec.EllipticCurvePublicKey)


def test_the_private_key_is_sensitive_and_never_extractable(token: Pkcs11Token, hsm: SoftHsm) -> None:
    import pkcs11

    token.generate("k", KeyType.EC_P256)
    with pkcs11.lib(str(hsm.library)).get_token(token_label=hsm.label).open() as session:  # shares the login
        key = session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label="k")
        assert key[pkcs11.Attribute.SENSITIVE] is True
        assert key[pkcs11.Attribute.EXTRACTABLE] is False
        assert key[pkcs11.Attribute.ID] == b"k"
        with pytest.raises(pkcs11.PKCS11Error):  # the token refuses to give the value out
            key[pkcs11.Attribute.VALUE]


def test_an_xades_signature_made_with_an_ec_key_in_the_token_verifies(token: Pkcs11Token) -> None:
    """The XAdES code turns the token's DER into raw r||s, as it does for the soft token."""
    from trust.pki import self_signed_certificate
    from trust.xades import SignedPart, check_cryptography, create_signature, parse_signature

    token.generate("sign", KeyType.EC_P256)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hsm")])
    cert = x509.load_der_x509_certificate(self_signed_certificate(
        token, "sign", name, not_before=now, not_after=now + dt.timedelta(days=1)))
    message = b"<m>hello</m>"
    signature = create_signature([SignedPart("/message.xml", data=message)], signer=token, key_id="sign",
                                 certificate=cert, signing_time=now)
    check_cryptography(signature, {"/message.xml": message})
    assert len(parse_signature(signature).signature_value) == 64
    cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))


def test_keys_stay_in_the_token_across_sessions_and_listing_needs_no_pin(token: Pkcs11Token, hsm: SoftHsm) -> None:
    public = token.generate("sign-1", KeyType.RSA2048)
    token.generate("auth", KeyType.EC_P256)
    token.close()
    reader = Pkcs11Token(hsm.library, hsm.label)  # logged out
    assert not reader.logged_in
    assert reader.key_ids() == ["auth", "sign-1"]
    assert reader.has_key("auth") and not reader.has_key("nope")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert (reader.public_key("sign-1").public_bytes(serialization.Encoding.DER, spki)
            == public.public_bytes(serialization.Encoding.DER, spki))
    with pytest.raises(KeyError_) as info:
        reader.sign("sign-1", SignatureAlgorithm.RSA_SHA256, b"\0" * 32)
    assert info.value.code == "trust.key.logged_out"
    reader.login(hsm.pin)
    assert verify_digest(public, SignatureAlgorithm.RSA_SHA256, b"\1" * 32,
                         reader.sign("sign-1", SignatureAlgorithm.RSA_SHA256, b"\1" * 32))
    reader.logout()
    with pytest.raises(KeyError_, match="logged out"):
        reader.generate("other", KeyType.EC_P256)
    reader.close()


def test_a_wrong_pin_is_refused(hsm: SoftHsm) -> None:
    with pytest.raises(WrongPin, match="wrong PIN"):
        Pkcs11Token(hsm.library, hsm.label, "0000")
    with pytest.raises(WrongPin, match="empty"):
        Pkcs11Token(hsm.library, hsm.label).login("")


def test_refusals_name_what_is_wrong(token: Pkcs11Token, hsm: SoftHsm, tmp_path: Path) -> None:
    token.generate("r", KeyType.RSA2048)
    with pytest.raises(TrustError) as exists:
        token.generate("r", KeyType.RSA2048)
    assert exists.value.code == "trust.key.exists"
    with pytest.raises(KeyNotFound):
        token.generate("../escape", KeyType.RSA2048)
    with pytest.raises(KeyNotFound):
        token.sign("missing", SignatureAlgorithm.RSA_SHA256, b"\0" * 32)
    with pytest.raises(UnsupportedAlgorithm, match="needs an EC key, the key is RSA"):
        token.sign("r", SignatureAlgorithm.ECDSA_SHA256, b"\0" * 32)
    with pytest.raises(TrustError) as short:
        token.sign("r", SignatureAlgorithm.RSA_SHA512, b"\0" * 32)
    assert short.value.code == "trust.key.bad_digest"
    with pytest.raises(KeyError_) as label:
        Pkcs11Token(hsm.library, "no-such-token")
    assert label.value.code == "trust.key.no_token"
    with pytest.raises(KeyError_) as library:
        Pkcs11Token(tmp_path / "missing.so", hsm.label)
    assert library.value.code == "trust.key.no_library"


def test_a_deleted_key_is_gone_from_the_token(token: Pkcs11Token) -> None:
    algorithm, digest = SignatureAlgorithm.ECDSA_SHA256, b"\x02" * 32
    token.generate("old", KeyType.EC_P256)
    token.generate("new", KeyType.EC_P256)
    token.sign("old", algorithm, digest)  # the session now knows the key object
    token.delete("old")
    assert token.key_ids() == ["new"]
    with pytest.raises(KeyNotFound):
        token.public_key("old")
    with pytest.raises(KeyNotFound):
        token.sign("old", algorithm, digest)
    with pytest.raises(KeyNotFound):
        token.delete("old")
    again = token.generate("old", KeyType.EC_P256)  # the same id, a new key: signs as the new key
    assert verify_digest(again, algorithm, digest, token.sign("old", algorithm, digest))
