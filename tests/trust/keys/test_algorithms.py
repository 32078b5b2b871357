"""Algorithms by URI: the allow-lists read their members' URIs and refuse any other."""

from __future__ import annotations

import pytest

from trust.errors import UnsupportedAlgorithm
from trust.keys import DigestAlgorithm, SignatureAlgorithm


def test_from_uri_reads_a_members_uri_with_white_space_around_it() -> None:
    assert DigestAlgorithm.from_uri(" http://www.w3.org/2001/04/xmlenc#sha512\n") is DigestAlgorithm.SHA512
    assert (SignatureAlgorithm.from_uri("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256")
            is SignatureAlgorithm.ECDSA_SHA256)


@pytest.mark.parametrize(("algorithms", "kind"), [(DigestAlgorithm, "digest"), (SignatureAlgorithm, "signature")])
def test_from_uri_refuses_any_other_uri_by_kind(algorithms: type[DigestAlgorithm] | type[SignatureAlgorithm],
                                                kind: str) -> None:
    with pytest.raises(UnsupportedAlgorithm) as info:
        algorithms.from_uri("urn:md5")
    assert str(info.value) == f"unsupported {kind} algorithm URI: 'urn:md5'"
