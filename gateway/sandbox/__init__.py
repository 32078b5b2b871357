"""The sandbox: two federated instances on 127.0.0.1 for tests, benchmarks and the demo.

``sild sandbox up DIR`` starts EE and FI, each with trust services, a governing
authority and two gateways, plus the sample legacy backends behind their adapters,
waits until every part is healthy and writes ``DIR/sandbox.json``;
``sild sandbox down DIR`` stops all of it (process groups, pid files). See
:mod:`gateway.sandbox._orchestrate`.
"""

from gateway.sandbox._orchestrate import down, up

__all__ = ["down", "up"]
