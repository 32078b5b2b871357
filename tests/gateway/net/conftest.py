"""Fixtures of the transport tests: one test CA and two gateways' TLS identities.

``pki`` is a :class:`GatewayPair` per test module: a :class:`tests.support.pki.TestCa`,
gateway ``a`` (EE/GOV/70000001/gw1) and gateway ``b`` (FI/GOV/0245437-2/gw1), each an
auth and a sign certificate with keys in a soft token (:func:`make_gateway_identity`),
and the directory holding them. The certificates are valid around the wall clock,
because TLS stacks check it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

from tests.support.pki import TestCa, make_gateway_identity


class GatewayPair(NamedTuple):
    ca: TestCa
    a: dict[str, Path]
    b: dict[str, Path]
    base: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayPair]:
    now = dt.datetime.now(dt.timezone.utc)
    base = tmp_path_factory.mktemp("pki")
    ca = TestCa.create("Test CA", now)
    yield GatewayPair(ca, make_gateway_identity(ca, base / "a", "EE/GOV/70000001/gw1", now),
                      make_gateway_identity(ca, base / "b", "FI/GOV/0245437-2/gw1", now), base)
