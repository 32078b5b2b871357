"""What a backup of a gateway directory is: the gateway's description for ``trust.backup``.

The engine backs up every file and every SQLite database of the directory
(:mod:`gateway.provision._directory` draws it: ``gateway.json``, ``anchor.xml``,
``token/``, ``csr/``, ``certs/``, ``sign-keys.json``, ``ocsp/``, the internal TLS
pair, ``serverconf.db``, ``messagelog.db``, message-log archives); the gateway adds:

* its identity, the server identifier of ``gateway.json``: a restore refuses the
  backup of another gateway unless forced;
* the databases it keeps on a PostgreSQL server (``serverconf_url``,
  ``messagelog_url``), dumped with ``pg_dump``; one URL named twice is dumped once;
* its ports, so that a restore refuses while anything listens on them;
* what a restore drill reports the copy holds: the message log's records (when it
  is the directory's SQLite file), keys in the soft token, certificates, instance;
* ``conf/``, the downloaded global configuration, is left out: the configuration
  client swaps it generation by generation (symlinks) while the node runs, and the
  node downloads and verifies it again from the anchor when it starts. Its
  ``high-water.json`` (the newest expiry accepted per instance, which refuses a
  replayed older configuration) is state, not cache, and is kept.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from trust.backup import NodeKind

from gateway.settings import NodeSettings


def _identity(directory: Path) -> str:
    return NodeSettings.load(directory).server


def _server_databases(directory: Path) -> dict[str, str]:
    settings = NodeSettings.load(directory)
    found: dict[str, str] = {}
    for name, url in (("serverconf", settings.serverconf_url), ("messagelog", settings.messagelog_url)):
        if url and url not in found.values():
            found[name] = url
    return found


def _ports(directory: Path) -> list[tuple[str, int]]:
    s = NodeSettings.load(directory)
    return [(s.is_host, s.is_port), (s.is_host, s.is_tls_port), (s.peer_host, s.peer_port),
            (s.peer_host, s.ocsp_port), ("127.0.0.1", s.admin_port)]


def _describe(directory: Path) -> list[str]:
    """What a restore drill's copy holds, read from the files (the copy is never started)."""
    settings = NodeSettings.load(directory)
    lines = [f"instance {settings.instance}, gateway {settings.server}"]
    log = directory / "messagelog.db"
    if settings.messagelog_url:
        lines.append("message log: on PostgreSQL (its dump is checked, not loaded)")
    elif log.is_file():
        conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
        try:
            lines.append(f"message log: {conn.execute('SELECT count(*) FROM ml_record').fetchone()[0]} records")
        except sqlite3.Error as exc:  # a log not migrated yet: the node migrates it when it starts
            lines.append(f"message log: not counted ({exc})")
        finally:
            conn.close()
    keys = sorted(p.name.removesuffix(".key.pem") for p in (directory / "token").glob("*.key.pem"))
    certs = sorted(p.name for p in (directory / "certs").glob("*.pem"))
    lines.append(f"keys in the soft token: {', '.join(keys) or 'none'}")
    lines.append(f"certificates: {', '.join(certs) or 'none'}")
    return lines


GATEWAY_BACKUP = NodeKind(role="gateway", identity=_identity, server_databases=_server_databases, ports=_ports,
                          rebuilt=frozenset({"conf"}), keep=frozenset({"conf/high-water.json"}),
                          describe=_describe)
