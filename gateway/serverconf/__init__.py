"""The gateway's server configuration: its clients, services, rights and API keys.

Kept in SQL (SQLite or PostgreSQL, alembic migrations), read by the proxies through
an immutable snapshot, and decided by the access checker (X-Road's rules: service
and endpoint rights, local and global groups).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._access import AccessChecker, Decision, check_is_connection, groups_from_mapping
    from ._apikeys import ApiKeyInfo, authenticate, create_api_key, list_api_keys, revoke_api_key
    from ._conf import ServerConf
    from ._errors import AlreadyExists, InvalidInput, NotFound
    from ._grants import GrantTerms, make_terms, parse_instant
    from ._parse import parse_client_text, parse_subject
    from ._descriptions import RefreshResult
    from ._services import DescriptionInfo, Fetch, Operation, default_fetch
    from ._snapshot import ClientInfo, ServiceInfo

__all__ = [
    "AccessChecker",
    "AlreadyExists",
    "ApiKeyInfo",
    "ClientInfo",
    "Decision",
    "DescriptionInfo",
    "Fetch",
    "GrantTerms",
    "InvalidInput",
    "NotFound",
    "Operation",
    "RefreshResult",
    "ServerConf",
    "ServiceInfo",
    "authenticate",
    "check_is_connection",
    "create_api_key",
    "default_fetch",
    "groups_from_mapping",
    "list_api_keys",
    "make_terms",
    "parse_client_text",
    "parse_instant",
    "parse_subject",
    "revoke_api_key",
]

__getattr__, __dir__ = attach(__name__, {
    "AccessChecker": "._access",
    "AlreadyExists": "._errors",
    "ApiKeyInfo": "._apikeys",
    "ClientInfo": "._snapshot",
    "Decision": "._access",
    "DescriptionInfo": "._services",
    "Fetch": "._services",
    "GrantTerms": "._grants",
    "make_terms": "._grants",
    "parse_instant": "._grants",
    "InvalidInput": "._errors",
    "NotFound": "._errors",
    "Operation": "._services",
    "RefreshResult": "._descriptions",
    "ServerConf": "._conf",
    "ServiceInfo": "._snapshot",
    "authenticate": "._apikeys",
    "check_is_connection": "._access",
    "create_api_key": "._apikeys",
    "default_fetch": "._services",
    "groups_from_mapping": "._access",
    "list_api_keys": "._apikeys",
    "parse_client_text": "._parse",
    "parse_subject": "._parse",
    "revoke_api_key": "._apikeys",
})
