"""The authority's registry: its database, its rules, its home directory.

Members, subsystems, gateways, approved CAs and TSAs, global groups, signing keys,
trusted anchors of federated instances, registration requests and API keys, stored
with SQLAlchemy (SQLite or PostgreSQL, alembic migrations) behind the ``Registry``
facade; the authority's directory layout (``CentralDir``) and its provisioning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._base import ROLES, load_der_certificate
    from ._db import VERSION_TABLE
    from ._errors import RegistryError
    from ._home import CentralConfig, CentralDir
    from ._keys import create_signing_key
    from ._models import ACCOUNT_TABLES, AuditRow, Base
    from ._provision import DEFAULT_MEMBER_CLASSES, add_trusted_anchor, build_anchor, init_central, init_node
    from ._published import StoredGeneration, latest_state, load_generation, store_generation
    from ._registry import Registry
    from ._requests import decide, list_requests, request_document, store_request
    from ._snapshot import RegistrySnapshot

__all__ = [
    "ACCOUNT_TABLES",
    "AuditRow",
    "Base",
    "CentralConfig",
    "CentralDir",
    "DEFAULT_MEMBER_CLASSES",
    "ROLES",
    "Registry",
    "RegistryError",
    "RegistrySnapshot",
    "StoredGeneration",
    "VERSION_TABLE",
    "add_trusted_anchor",
    "build_anchor",
    "create_signing_key",
    "decide",
    "init_central",
    "init_node",
    "latest_state",
    "list_requests",
    "request_document",
    "load_der_certificate",
    "load_generation",
    "store_generation",
    "store_request",
]

__getattr__, __dir__ = attach(__name__, {
    "ACCOUNT_TABLES": "._models",
    "AuditRow": "._models",
    "Base": "._models",
    "CentralConfig": "._home",
    "CentralDir": "._home",
    "DEFAULT_MEMBER_CLASSES": "._provision",
    "ROLES": "._base",
    "Registry": "._registry",
    "RegistryError": "._errors",
    "RegistrySnapshot": "._snapshot",
    "VERSION_TABLE": "._db",
    "add_trusted_anchor": "._provision",
    "build_anchor": "._provision",
    "create_signing_key": "._keys",
    "decide": "._requests",
    "init_central": "._provision",
    "init_node": "._provision",
    "latest_state": "._published",
    "load_generation": "._published",
    "store_generation": "._published",
    "StoredGeneration": "._published",
    "list_requests": "._requests",
    "request_document": "._requests",
    "load_der_certificate": "._base",
    "store_request": "._requests",
})
