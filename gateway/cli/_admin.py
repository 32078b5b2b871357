"""``sild gateway client|service|access|localgroup|log|apikey ...``: administration from the shell.

Every command takes the gateway directory first (as ``sild gateway init`` made it) and
works on ``DIR/serverconf.db`` (and ``DIR/messagelog.db`` for ``log``); the admin API
does the same over HTTPS. Errors are one line (``sild: error: ... [code]``, exit 1).

    sild gateway client add DIR EE/GOV/70000001/tax [--is-auth https] [--allow 10.0.0.0/8] [--registered]
    sild gateway service add DIR EE/GOV/70000001/tax --wsdl URL | --rest URL --code C | --openapi URL --code C
    sild gateway service enable DIR EE/GOV/70000001/tax/getPerson
    sild gateway access grant DIR EE/GOV/70000001/tax/getPerson EE/COM/20000002/app [--method GET --path /x/{id}]
    sild gateway localgroup add DIR EE/GOV/70000001/tax clerks; localgroup add-member DIR ... clerks EE/COM/2/app
    sild gateway log export DIR --query-id ID --out FILE.asice [--direction response]
    sild gateway log archive DIR; sild gateway log verify-archives DIR
    sild gateway apikey create DIR --role admin

Each group lives in its own module (``_clients``, ``_services``, ``_access``, ``_log``,
``_apikeys``) over the directory helpers of ``_directory``; this module gathers them
for :mod:`gateway.cli._gateway`, which adds every name of :data:`__all__` to
``sild gateway``.
"""

from __future__ import annotations

from ._access import access_group, localgroup_group
from ._apikeys import apikey_group
from ._backup import backup, restore
from ._clients import address_command, client_group, owner_group
from ._keys import cert_group, key_group, token_group
from ._log import log_group
from ._services import service_group

__all__ = ["access_group", "address_command", "apikey_group", "backup", "cert_group", "client_group", "key_group",
           "localgroup_group", "log_group", "owner_group", "restore", "service_group", "token_group"]
