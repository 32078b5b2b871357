"""Plumbing every layer shares, so that each idea exists once.

The one clock (``utc_now``), atomic file writes, the one database opener (SQLite
pragmas, pre-ping, retried alembic migrations), the safe XML parser (no DTDs, no
entities, no network, bounded size and depth), the WSGI server for admin ports, the
sild servers that serve a directory (``servers_inside``: the sandbox and a restore ask), the
event-driven edge server for the ports that face other organisations, the
API-key core and JSON error shape of both admin APIs, the lease that lets one node
of several on one database act alone (``Lease``), and ``attach``, which gives
every package its lazy public face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import attach

if TYPE_CHECKING:
    from ._apierrors import error_body, error_codes, status_for
    from ._audit import (
        READ_METHODS, REDACTED, AuditColumns, AuditEntry, AuditLog, ChainCheck, PendingAudit, api_call_entry,
        begin_action, create_audit_table, current_action, drop_audit_table, end_action, entry_json, parse_since,
        record_in_transaction, redact,
    )
    from ._auditcli import audit_command, audit_commands, cli_actor
    from ._apikeys import (
        KEY_PREFIX, api_key_digest, digest_matches, looks_like_api_key, new_api_key, presented_api_key,
        role_allows, unknown_roles,
    )
    from ._clock import utc_now
    from ._edgeserver import EdgeLimits, EdgeServer
    from ._db import (
        MIGRATION_ATTEMPTS, SYNC_MODES, UtcDateTime, database_url, migrate_schema, open_engine,
        run_alembic_env, transaction,
    )
    from ._files import fsync_directory, write_atomic
    from ._lease import Lease, lease_key
    from ._listeners import servers_inside
    from ._safexml import parse_xml, schema_problems
    from ._wsgiserver import WsgiApp, WsgiServer

__all__ = [
    "AuditColumns",
    "AuditEntry",
    "AuditLog",
    "ChainCheck",
    "KEY_PREFIX",
    "Lease",
    "MIGRATION_ATTEMPTS",
    "PendingAudit",
    "READ_METHODS",
    "REDACTED",
    "SYNC_MODES",
    "UtcDateTime",
    "EdgeLimits",
    "EdgeServer",
    "WsgiApp",
    "WsgiServer",
    "api_call_entry",
    "api_key_digest",
    "attach",
    "audit_command",
    "audit_commands",
    "begin_action",
    "cli_actor",
    "create_audit_table",
    "current_action",
    "database_url",
    "digest_matches",
    "drop_audit_table",
    "end_action",
    "entry_json",
    "error_body",
    "error_codes",
    "fsync_directory",
    "lease_key",
    "looks_like_api_key",
    "migrate_schema",
    "new_api_key",
    "open_engine",
    "parse_since",
    "parse_xml",
    "presented_api_key",
    "record_in_transaction",
    "redact",
    "role_allows",
    "run_alembic_env",
    "schema_problems",
    "servers_inside",
    "status_for",
    "transaction",
    "unknown_roles",
    "utc_now",
    "write_atomic",
]

__getattr__, __dir__ = attach(__name__, {
    "AuditColumns": "._audit",
    "AuditEntry": "._audit",
    "AuditLog": "._audit",
    "ChainCheck": "._audit",
    "PendingAudit": "._audit",
    "begin_action": "._audit",
    "current_action": "._audit",
    "end_action": "._audit",
    "record_in_transaction": "._audit",
    "READ_METHODS": "._audit",
    "REDACTED": "._audit",
    "api_call_entry": "._audit",
    "audit_command": "._auditcli",
    "audit_commands": "._auditcli",
    "cli_actor": "._auditcli",
    "create_audit_table": "._audit",
    "drop_audit_table": "._audit",
    "entry_json": "._audit",
    "parse_since": "._audit",
    "redact": "._audit",
    "KEY_PREFIX": "._apikeys",
    "Lease": "._lease",
    "lease_key": "._lease",
    "MIGRATION_ATTEMPTS": "._db",
    "SYNC_MODES": "._db",
    "UtcDateTime": "._db",
    "EdgeLimits": "._edgeserver",
    "EdgeServer": "._edgeserver",
    "WsgiApp": "._wsgiserver",
    "WsgiServer": "._wsgiserver",
    "api_key_digest": "._apikeys",
    "database_url": "._db",
    "digest_matches": "._apikeys",
    "error_body": "._apierrors",
    "error_codes": "._apierrors",
    "fsync_directory": "._files",
    "looks_like_api_key": "._apikeys",
    "migrate_schema": "._db",
    "new_api_key": "._apikeys",
    "open_engine": "._db",
    "parse_xml": "._safexml",
    "presented_api_key": "._apikeys",
    "role_allows": "._apikeys",
    "run_alembic_env": "._db",
    "schema_problems": "._safexml",
    "servers_inside": "._listeners",
    "status_for": "._apierrors",
    "transaction": "._db",
    "unknown_roles": "._apikeys",
    "utc_now": "._clock",
    "write_atomic": "._files",
})
