"""Shared fixtures: where the X-Road conformance vectors are, a fixed moment, sild's own CA.

The vectors live in ``../shared/conformance/xroad`` beside the project root (CI lays
the same copy there); they are data and are never copied into the project.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.pgserver import start_postgres
from tests.support.conformance import XROAD



@pytest.fixture(scope="session")
def xroad() -> Path:
    """Root of X-Road's conformance vectors."""
    assert XROAD.is_dir(), f"conformance vectors missing at {XROAD}"
    return XROAD


@pytest.fixture
def now() -> dt.datetime:
    """A fixed, timezone-aware moment for tests that must not read the wall clock."""
    return dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


CA_PIN = "test-pin"
"""PIN of the CAs :func:`new_ca` makes."""


@pytest.fixture(scope="module")
def new_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Makes sild's own CA (``trust.services.CertificateAuthority``: root, OCSP, TSA) for a module.

    ``new_ca(now=..., instance="EE", **options)`` takes the options of
    ``CertificateAuthority.init`` (``key_type``, ``intermediate``, ...), uses the PIN
    :data:`CA_PIN` and a fresh directory, and closes every CA it made when the module ends.
    For certificates with hand-picked extensions use :mod:`tests.support.pki` instead.
    """
    from trust.services import CertificateAuthority

    made: list[CertificateAuthority] = []

    def make(*, now: dt.datetime, instance: str = "EE", **options: Any) -> CertificateAuthority:
        ca = CertificateAuthority.init(tmp_path_factory.mktemp("ca") / "ca", instance=instance, pin=CA_PIN, now=now,
                                       **options)
        made.append(ca)
        return ca

    yield make
    for ca in made:
        ca.close()


def pytest_configure(config: pytest.Config) -> None:
    """Start a throw-away PostgreSQL for the run (see :mod:`tests.pgserver`).

    Only the controlling process starts it; xdist workers inherit the URL through
    the environment.
    """
    if os.environ.get("SILD_TEST_POSTGRES_URL") or hasattr(config, "workerinput"):
        return
    server = start_postgres()
    if server is not None:
        os.environ["SILD_TEST_POSTGRES_URL"] = server.url
        config.stash[_PG_KEY] = server


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_PG_KEY, None)
    if server is not None:
        server.stop()
        os.environ.pop("SILD_TEST_POSTGRES_URL", None)


_PG_KEY = pytest.StashKey["object"]()
