"""Admin API keys: random secrets shown once, stored only as SHA-256, each with roles.

The key format, digest and role rule are :mod:`trust.infra`'s, shared with the
governing authority's management API; this module keeps the gateway's table.

Roles (checked by :mod:`gateway.admin._auth`):

* ``admin`` - everything;
* ``service-admin`` - clients, services, endpoints, access rights, local groups;
* ``auditor`` - message log export and operational monitoring data;
* ``viewer`` - read-only views of configuration, status and metrics;
* ``tracker`` - only the data tracker's list of one data subject (the data owner's
  citizen portal: it sees who read a person's data, nothing of the configuration).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from trust.infra import KEY_PREFIX, api_key_digest, looks_like_api_key, new_api_key, unknown_roles

from gateway.db import schema as m
from ._conf import ServerConf
from ._errors import InvalidInput, NotFound

ROLES = ("admin", "service-admin", "auditor", "viewer", "tracker")
PREFIX = KEY_PREFIX


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    roles: frozenset[str]
    label: str
    created_at: dt.datetime
    revoked: bool


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    out = frozenset(r.strip() for r in roles if r.strip())
    if not out:
        raise InvalidInput(f"an API key needs at least one role of {', '.join(ROLES)}")
    unknown = sorted(unknown_roles(out, ROLES))
    if unknown:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
    return out


def create_api_key(conf: ServerConf, roles: Iterable[str], label: str = "") -> tuple[int, str]:
    """Create a key; returns (id, secret). The secret is not stored and cannot be shown again."""
    checked = check_roles(roles)
    secret = new_api_key()
    with Session(conf.engine, expire_on_commit=False) as s, s.begin():
        row = m.ApiKey(key_hash=api_key_digest(secret), roles=",".join(sorted(checked)), label=label[:200],
                       created_at=conf.now(), revoked=False)
        s.add(row)
        s.flush()
        key_id = int(row.id)
    return key_id, secret


def authenticate(conf: ServerConf, secret: str) -> ApiKeyInfo | None:
    """The key's info when ``secret`` is a valid, unrevoked key; else ``None``."""
    if not looks_like_api_key(secret):
        return None
    with Session(conf.engine) as s:
        row = s.scalar(select(m.ApiKey).where(m.ApiKey.key_hash == api_key_digest(secret)))
        if row is None or row.revoked:
            return None
        return _info(row)


def _info(row: m.ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(int(row.id), frozenset(row.roles.split(",")), row.label, row.created_at, row.revoked)


def revoke_api_key(conf: ServerConf, key_id: int) -> None:
    with Session(conf.engine) as s, s.begin():
        row = s.get(m.ApiKey, key_id)
        if row is None:
            raise NotFound(f"no API key {key_id}", code="gateway.serverconf.api_key_not_found")
        row.revoked = True


def list_api_keys(conf: ServerConf) -> list[ApiKeyInfo]:
    with Session(conf.engine) as s:
        return [_info(r) for r in s.scalars(select(m.ApiKey).order_by(m.ApiKey.id))]
