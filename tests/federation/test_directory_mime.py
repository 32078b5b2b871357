"""The MIME layer of a signed directory: what surrounds and separates its parts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from federation.directory import DirectoryEntry, build_directory, parse_directory
from federation.model import ConfMalformed, ConfMissingSignature
from trust.keys import KeyType

from tests.federation.directory_support import make_signing_identity

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
OUT, IN = "outerBoundary1", "innerBoundary1"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    signer = make_signing_identity(Path(tmp_path_factory.mktemp("token")), KeyType.EC_P256)
    entries = [DirectoryEntry("SHARED-PARAMETERS", "EE", "/V6/1/shared-params.xml", b"<conf/>")]
    return build_directory(entries, expire_date=AT, version=6, signer=signer.token, key_id=signer.key_id,
                           cert=signer.cert, boundaries=(OUT, IN))


def test_built_directory_parses_and_signs_the_exact_first_part(directory: bytes) -> None:
    parsed = parse_directory(directory)
    start = directory.index(b"--" + IN.encode())
    end = directory.index(b"--" + IN.encode() + b"--\r\n") + len(IN) + 6
    assert parsed.signed_bytes == directory[start:end]
    assert [p.content_identifier for p in parsed.parts] == ["SHARED-PARAMETERS"]


def test_lf_line_ends_are_read(directory: bytes) -> None:
    parsed = parse_directory(directory.replace(b"\r\n", b"\n"))
    assert parsed.version == 6 and parsed.parts[0].location == "/V6/1/shared-params.xml"


def test_a_missing_inner_close_delimiter_is_tolerated(directory: bytes) -> None:
    data = directory.replace(b"--" + IN.encode() + b"--\r\n", b"")
    assert [p.content_identifier for p in parse_directory(data).parts] == ["SHARED-PARAMETERS"]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda d: d.replace(b"\r\n\r\n--" + OUT.encode(), b"\r\n\r\nhello\r\n--" + OUT.encode(), 1),
         ConfMalformed, "directory: unexpected text before the first boundary"),
        (lambda d: d + b"trailing", ConfMalformed, "directory does not end with its closing boundary"),
        (lambda d: d.replace(b"--" + OUT.encode() + b"--", b""), ConfMalformed,
         "directory does not end with its closing boundary"),
        (lambda d: d.replace(OUT.encode(), b"otherBoundary").replace(b"boundary=otherBoundary", b"boundary=" + OUT.encode()),
         ConfMalformed, f"directory: no part delimited by boundary {OUT!r}"),
        (lambda d: d.replace(b"Content-location:", b"Content-location ", 1), ConfMalformed,
         "part 1: header line b'Content-location  /V6/1/shared-params.xml' has no colon"),
        (lambda d: d.replace(b"Hash-algorithm-id:", b"Hash algorithm:", 1), ConfMalformed,
         "part 1: b'Hash algorithm' is not a header name"),
        (lambda d: d[: d.rindex(b"--" + OUT.encode() + b"\r\n")] + b"--" + OUT.encode() + b"--\r\n",
         ConfMissingSignature, "directory has no signature part"),
    ],
    ids=["preamble", "epilogue", "unclosed", "no-delimiter", "no-colon", "bad-name", "no-signature"],
)
def test_refusals_name_the_place(directory: bytes, change, error: type, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as info:
        parse_directory(change(directory))
    assert str(info.value) == message
