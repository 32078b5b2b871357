"""Run a WSGI app with cheroot on a background thread (tests, sandboxes, ``sild adapter serve``).

The server is :class:`trust.infra._wsgiserver.WsgiServer` (8 threads, a 1 s shutdown timeout,
an optional cheroot SSL adapter for mutual-TLS ports); it is re-exported here so that
adapters code and users keep importing it from ``adapters``.
"""

from __future__ import annotations

from trust.infra import WsgiApp, WsgiServer

__all__ = ["WsgiApp", "WsgiServer"]
