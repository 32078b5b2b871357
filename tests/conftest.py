"""Shared fixtures: where the X-Road conformance vectors are, and a fixed moment.

The vectors live in ``../shared/conformance/xroad`` beside the project root (CI lays
the same copy there); they are data and are never copied into the project.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
XROAD = PROJECT_ROOT.parent / "shared" / "conformance" / "xroad"


@pytest.fixture(scope="session")
def xroad() -> Path:
    """Root of X-Road's conformance vectors."""
    assert XROAD.is_dir(), f"conformance vectors missing at {XROAD}"
    return XROAD


@pytest.fixture
def now() -> dt.datetime:
    """A fixed, timezone-aware moment for tests that must not read the wall clock."""
    return dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
