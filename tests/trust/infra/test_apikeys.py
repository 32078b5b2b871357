"""The one API-key core both admin APIs use: format, digest, headers, roles."""

from __future__ import annotations

import hashlib

from trust.infra import (
    KEY_PREFIX, api_key_digest, digest_matches, looks_like_api_key, new_api_key, presented_api_key, role_allows,
    unknown_roles,
)


def test_new_keys_keep_the_stored_format() -> None:
    key = new_api_key()
    assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 43
    assert new_api_key() != key
    assert new_api_key(lambda n: "x" * n) == "sild_" + "x" * 32


def test_digest_is_the_hex_sha256_already_in_the_databases() -> None:
    assert api_key_digest("sild_abc") == hashlib.sha256(b"sild_abc").hexdigest()
    assert api_key_digest("sild_\u00e4") == hashlib.sha256("sild_\u00e4".encode()).hexdigest()
    assert len(api_key_digest("sild_\udcff")) == 64  # undecodable header bytes hash, they do not raise
    assert digest_matches(api_key_digest("sild_abc"), "sild_abc")
    assert not digest_matches(api_key_digest("sild_abc"), "sild_abd")


def test_shape_check_before_lookup() -> None:
    assert looks_like_api_key("sild_x")
    assert not looks_like_api_key("")
    assert not looks_like_api_key("other_x")
    assert not looks_like_api_key("sild_" + "x" * 200)


def test_presented_key_keeps_each_api_header_order() -> None:
    assert presented_api_key("Bearer  k1 ", None, bearer_first=True) == "k1"
    assert presented_api_key("bearer k1", "k2", bearer_first=True) == "k1"
    assert presented_api_key("bearer k1", "k2", bearer_first=False) == "k2"
    assert presented_api_key("", "k2", bearer_first=True) == "k2"
    assert presented_api_key("Basic abc", None, bearer_first=False) == ""
    assert presented_api_key("Bearer k1", "", bearer_first=False) == ""  # an empty X-API-Key is what was sent
    assert presented_api_key("Bearer ", "k2", bearer_first=True) == ""


def test_roles() -> None:
    assert role_allows({"viewer"}, ("viewer", "auditor"), superuser="admin")
    assert role_allows({"admin"}, ("auditor",), superuser="admin")
    assert not role_allows({"viewer"}, ("auditor",), superuser="admin")
    assert role_allows({"viewer"}, (), superuser="admin")
    assert unknown_roles(["b", "x", "a", "y"], {"a", "b"}) == ["x", "y"]
