"""federation.directory is a room: every public name resolves through its face."""

from __future__ import annotations

import federation
import federation.directory as directory


def test_every_public_name_resolves() -> None:
    for name in directory.__all__:
        assert getattr(directory, name) is not None
    assert directory.__all__ == sorted(directory.__all__)


def test_package_face_serves_the_same_objects() -> None:
    for name in ("DirectoryEntry", "VerifiedConfiguration", "build_directory", "parse_directory", "verify_directory"):
        assert getattr(federation, name) is getattr(directory, name)
