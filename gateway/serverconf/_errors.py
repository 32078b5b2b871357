"""Errors of server configuration.

Every failure has its own code so the admin API can answer 404/409/400 with a
specific message and the CLI can print one line. The parsers of operator input that
raise :class:`InvalidInput` are in :mod:`gateway.serverconf._parse`.
"""

from __future__ import annotations

from gateway.errors import GatewayError


class ServerConfError(GatewayError):
    code = "gateway.serverconf.error"


class InvalidInput(ServerConfError):
    code = "gateway.serverconf.invalid_input"


class NotFound(ServerConfError):
    code = "gateway.serverconf.not_found"


class ClientNotFound(NotFound):
    code = "gateway.serverconf.client_not_found"


class ServiceNotFound(NotFound):
    code = "gateway.serverconf.service_not_found"


class DescriptionNotFound(NotFound):
    code = "gateway.serverconf.description_not_found"


class LocalGroupNotFound(NotFound):
    code = "gateway.serverconf.local_group_not_found"


class AccessRightNotFound(NotFound):
    code = "gateway.serverconf.access_right_not_found"


class AlreadyExists(ServerConfError):
    code = "gateway.serverconf.already_exists"


class IdentityNotSet(ServerConfError):
    code = "gateway.serverconf.identity_not_set"
