"""Fixtures of the gateway tests: the in-process federated world.

``world`` is :func:`tests.gateway._world.build_world` once per test module: EE and FI
with their CAs, OCSP responders and TSAs served over HTTP, four gateways with real mTLS
between them and the sandbox's services behind them, closed when the module ends. It is
built at the wall clock (``world.now``) because TLS stacks check certificates against it.
A module that needs another world (stopped, or at another moment) calls ``build_world``.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterator

import pytest

from tests.gateway._world import World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = build_world(tmp_path_factory.mktemp("world"), dt.datetime.now(dt.timezone.utc))
    yield w
    w.close()
