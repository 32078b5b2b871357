"""Shared fixtures: where the X-Road conformance vectors are, a fixed moment, sild's own CA.

The vectors are looked up in ``$SILD_XROAD_VECTORS``, else ``../shared/conformance/xroad``
beside the project root (CI lays them there); they are data and are never copied into the
project. Without them every test that reads them is skipped and the run ends with one line
saying so (:mod:`tests.support.conformance` says why and how CI refuses that).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.pgserver import start_postgres
from tests.support.conformance import HOW_TO_GET, REQUIRE_ENV, XROAD, missing_reason, present, reads_vectors, required


@pytest.fixture(scope="session")
def xroad() -> Path:
    """Root of X-Road's conformance vectors; skips the test when they are missing."""
    if not present():
        pytest.skip(missing_reason())
    return XROAD


def pytest_sessionstart(session: pytest.Session) -> None:
    """A run that must have the vectors (CI: ``$SILD_REQUIRE_XROAD_VECTORS``) stops before any test without them."""
    if required() and not present():
        pytest.exit(f"{missing_reason()} and {REQUIRE_ENV} is set: {HOW_TO_GET}", returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the vectors, mark skipped every test that reads them, before any of them runs.

    A test reads them when it takes the ``xroad`` fixture, or when it or a fixture of its
    module reaches a module-level path inside the vectors (:func:`reads_vectors`).
    """
    if present():
        return
    skip = pytest.mark.skip(reason=missing_reason())
    for item in items:
        if _needs_vectors(item):
            item.add_marker(skip, append=False)  # before pytest's own "got empty parameter set" skip


def _empty_table(item: pytest.Item) -> bool:
    """Whether pytest marked ``item`` skipped because its parametrize table came out empty."""
    return any(str(mark.kwargs.get("reason", "")).startswith("got empty parameter set")
               for mark in item.iter_markers("skip"))


def _needs_vectors(item: pytest.Item) -> bool:
    if "xroad" in getattr(item, "fixturenames", ()):
        return True
    module = getattr(item, "module", None)
    if module is None:
        return False
    if _empty_table(item) and any(v is XROAD for v in vars(module).values()):
        return True  # a parametrize table read from the vectors, empty without them
    functions = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        functions += [d.func for d in defs if getattr(d.func, "__module__", None) == module.__name__]
    return any(reads_vectors(f, vars(module)) for f in functions if f is not None)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Count the tests skipped for want of the vectors; :func:`pytest_unconfigure` says so last."""
    reason = missing_reason()
    skipped = sum(1 for report in terminalreporter.stats.get("skipped", [])
                  if isinstance(report.longrepr, tuple) and reason in str(report.longrepr[2]))
    if skipped:
        config.stash[_VECTORS_LINE] = f"{skipped} tests skipped: {reason}; {HOW_TO_GET}"


_VECTORS_LINE = pytest.StashKey[str]()


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
    the environment. A ``--collect-only`` run (``python -m tools.docs`` collects the
    conformance checks) runs no test, so it starts none.
    """
    if os.environ.get("SILD_TEST_POSTGRES_URL") or hasattr(config, "workerinput") or config.option.collectonly:
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
    line = config.stash.get(_VECTORS_LINE, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if line and reporter is not None:  # the run's very last line, after pytest's own summary
        reporter.write_line(line, yellow=True)


_PG_KEY = pytest.StashKey["object"]()
