"""The sandbox: two federated instances on 127.0.0.1 for tests, benchmarks and the demo.

``sild sandbox up DIR`` starts EE and FI, each with trust services, a governing
authority and two gateways, plus the sample legacy backends behind their adapters,
waits until every part is healthy and writes ``DIR/sandbox.json``;
``sild sandbox down DIR`` stops all of it (process groups, pid files). See
:mod:`gateway.sandbox._orchestrate`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._demo_run import run_demo
    from ._orchestrate import down, up
    from ._processes import watch

__all__ = [
    "down",
    "run_demo",
    "up",
    "watch",
]

__getattr__, __dir__ = attach(__name__, {
    "down": "._orchestrate",
    "run_demo": "._demo_run",
    "up": "._orchestrate",
    "watch": "._processes",
})
