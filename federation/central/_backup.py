"""What a backup of an authority directory is: the authority's description for ``trust.backup``.

The engine backs up every file and database of the directory
(:mod:`federation.central.registry` draws it: ``central.json``, ``registry.db``,
``token/`` with the configuration signing keys, ``public/`` with the published
signed configuration); the authority adds its identity (the instance of
``central.json``: a restore refuses another instance's backup unless forced) and
its registry on a PostgreSQL server when ``central.json`` names one. ``public/`` is
kept rather than regenerated: gateways compare what they download with what they
hold, and a restored authority serves the very files it served before, signature
and version included, until the registry changes. ``.generate.lock`` is left out (a
lock of the process, ``*.lock``). The authority's port is a ``serve`` option, not a
setting, so a running authority is found by its process (``trust.infra.servers_inside``).
"""

from __future__ import annotations

from pathlib import Path

from trust.backup import NodeKind

from federation.central.registry import CentralDir


def _identity(directory: Path) -> str:
    return CentralDir(directory).config.instance


def _server_databases(directory: Path) -> dict[str, str]:
    url = CentralDir(directory).config.database_url
    return {"registry": url} if url else {}


CENTRAL_BACKUP = NodeKind(role="central", identity=_identity, server_databases=_server_databases,
                          noun="governing authority")
