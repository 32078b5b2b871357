"""The soft token and the Signer interface."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.errors import KeyNotFound, TrustError, UnsupportedAlgorithm, WrongPin
from trust.keys import KeyType, Signer, SoftToken, ecdsa_der_to_raw, ecdsa_raw_to_der, verify_digest


@pytest.mark.parametrize(
    ("key_type", "algorithm"),
    [
        (KeyType.RSA2048, SignatureAlgorithm.RSA_SHA256),
        (KeyType.RSA2048, SignatureAlgorithm.RSA_SHA512),
        (KeyType.EC_P256, SignatureAlgorithm.ECDSA_SHA256),
        (KeyType.EC_P384, SignatureAlgorithm.ECDSA_SHA512),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_sign_and_verify(tmp_path, key_type, algorithm):
    token = SoftToken(tmp_path, "1234")
    public = token.generate("k", key_type)
    digest = algorithm.digest.digest(b"message")
    signature = token.sign("k", algorithm, digest)
    assert verify_digest(public, algorithm, digest, signature)
    assert not verify_digest(public, algorithm, algorithm.digest.digest(b"other"), signature)
    assert isinstance(token, Signer)


def test_rsa3072_key_size(tmp_path):
    public = SoftToken(tmp_path, "1234").generate("big", KeyType.RSA3072)
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 3072


def test_keys_are_encrypted_pkcs8_and_private(tmp_path):
    token = SoftToken(tmp_path, "secret-pin")
    token.generate("k", KeyType.EC_P256)
    path = tmp_path / "k.key.pem"
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    reopened = SoftToken(tmp_path, "secret-pin")
    assert isinstance(reopened.public_key("k"), ec.EllipticCurvePublicKey)
    with pytest.raises(WrongPin):
        SoftToken(tmp_path, "wrong").public_key("k")


def test_errors(tmp_path):
    token = SoftToken(tmp_path, "1234")
    with pytest.raises(KeyNotFound):
        token.sign("missing", SignatureAlgorithm.RSA_SHA256, b"\x00" * 32)
    with pytest.raises(KeyNotFound):
        token.public_key("../escape")
    token.generate("r", KeyType.RSA2048)
    with pytest.raises(TrustError):
        token.generate("r", KeyType.RSA2048)
    with pytest.raises(UnsupportedAlgorithm):
        token.sign("r", SignatureAlgorithm.ECDSA_SHA256, b"\x00" * 32)
    with pytest.raises(TrustError):
        token.sign("r", SignatureAlgorithm.RSA_SHA512, b"\x00" * 32)  # wrong digest length
    with pytest.raises(WrongPin):
        SoftToken(tmp_path, "")


def test_ecdsa_raw_der_conversion(tmp_path):
    token = SoftToken(tmp_path, "1234")
    public = token.generate("e", KeyType.EC_P256)
    digest = hashlib.sha256(b"x").digest()
    der = token.sign("e", SignatureAlgorithm.ECDSA_SHA256, digest)
    raw = ecdsa_der_to_raw(der, 256)
    assert len(raw) == 64
    assert verify_digest(public, SignatureAlgorithm.ECDSA_SHA256, digest, ecdsa_raw_to_der(raw))


def test_algorithm_uris_and_names():
    assert DigestAlgorithm.from_uri("http://www.w3.org/2001/04/xmlenc#sha512") is DigestAlgorithm.SHA512
    assert DigestAlgorithm.from_name("SHA-512") is DigestAlgorithm.SHA512
    assert DigestAlgorithm.SHA512.transport_name == "SHA-512"
    with pytest.raises(UnsupportedAlgorithm):
        DigestAlgorithm.from_uri("http://example.org/md5")
    with pytest.raises(UnsupportedAlgorithm):
        SignatureAlgorithm.from_uri("http://www.w3.org/2000/09/xmldsig#rsa-sha1")


def test_logout_forgets_the_pin_and_login_checks_it(tmp_path):
    """The soft token speaks the PKCS#11 token's words: logged out, nothing signs."""
    token = SoftToken(tmp_path, "1234")
    public = token.generate("k", KeyType.EC_P256)
    assert token.logged_in
    token.logout()
    assert not token.logged_in
    with pytest.raises(TrustError) as info:
        token.sign("k", SignatureAlgorithm.ECDSA_SHA256, b"\x00" * 32)
    assert info.value.code == "trust.key.logged_out"
    with pytest.raises(WrongPin):
        token.login("4321")
    assert not token.logged_in
    token.login("1234")
    digest = b"\x01" * 32
    assert verify_digest(public, SignatureAlgorithm.ECDSA_SHA256, digest,
                         token.sign("k", SignatureAlgorithm.ECDSA_SHA256, digest))


def test_a_deleted_key_is_gone(tmp_path):
    token = SoftToken(tmp_path, "1234")
    token.generate("old", KeyType.EC_P256)
    token.generate("new", KeyType.EC_P256)
    token.delete("old")
    assert token.key_ids() == ["new"]
    with pytest.raises(KeyNotFound):
        token.public_key("old")
    with pytest.raises(KeyNotFound):
        token.delete("old")
