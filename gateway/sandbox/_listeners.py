"""Servers of a sandbox that nobody recorded: found by what they are, not by a pid file.

The sandbox records every process it starts (:mod:`._processes`), but an operator who
edits a node's settings and restarts it by hand (``.venv/bin/sild gateway serve
DIR/EE/gw-...``), or who adds a third country under the sandbox's directory, starts
processes that no pid file names. ``sild sandbox down`` must stop those too, and must
never stop anything else. How such a server is recognised (a listening sild server
command naming a path inside the directory) is :func:`trust.infra.servers_inside`,
which a restore asks too.
"""

from __future__ import annotations

from pathlib import Path

from trust.infra import servers_inside


def sandbox_servers(root: Path, *, inside: Path | None = None) -> list[int]:
    """Pids of the sandbox's servers; with ``inside``, only those naming a path inside
    that directory of the sandbox (one node)."""
    return servers_inside(inside or root)
