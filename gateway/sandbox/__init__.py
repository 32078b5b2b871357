"""The sandbox: two federated instances on 127.0.0.1 for tests, benchmarks and the demo.

``sild sandbox up DIR`` starts EE and FI, each with trust services, a governing
authority and two gateways (admin APIs on, keys in each gateway's directory), plus
the sample legacy backends behind their adapters, waits until every part is healthy
and writes ``DIR/sandbox.json``; on a DIR it built before it starts the same servers
again over the same data (:mod:`._record`, :mod:`._restart`). ``sild sandbox restart
DIR NODE`` restarts one node; ``sild sandbox federate DIR ANCHOR`` makes a third
country a partner of the sandbox (:mod:`._federate`); ``sild sandbox down DIR`` stops all of it (process
groups, pid files, and servers restarted by hand: :mod:`._listeners`). See
:mod:`gateway.sandbox._orchestrate`. Printed commands are spelled by
:func:`sild_hint` so that they can be pasted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._demo_run import run_demo
    from ._federate import federate
    from ._hints import sild_hint, sild_program
    from ._orchestrate import down, up
    from ._processes import watch
    from ._record import SandboxError
    from ._restart import restart_node

__all__ = [
    "SandboxError",
    "down",
    "federate",
    "restart_node",
    "run_demo",
    "sild_hint",
    "sild_program",
    "up",
    "watch",
]

__getattr__, __dir__ = attach(__name__, {
    "SandboxError": "._record",
    "down": "._orchestrate",
    "federate": "._federate",
    "restart_node": "._restart",
    "run_demo": "._demo_run",
    "sild_hint": "._hints",
    "sild_program": "._hints",
    "up": "._orchestrate",
    "watch": "._processes",
})
