"""Error leaves of the central registry (codes ``federation.central.registry._registry.*``).

Each refusal has its own leaf so that the management API can map it to a specific
HTTP status and a stable ``error`` code, and the CLI can print a one-line reason.
Every operation that raises one of these has changed nothing: the transaction is
rolled back before the error leaves :mod:`federation.central.registry._registry`.
"""

from __future__ import annotations

from federation.errors import FederationError


class RegistryError(FederationError):
    """Base of every registry refusal; ``http_status`` is what the management API answers."""

    code = "federation.registry.error"
    http_status = 400


class RegistryInvalidInput(RegistryError):
    code = "federation.registry.invalid_input"


class RegistryNotFound(RegistryError):
    code = "federation.registry.not_found"
    http_status = 404


class RegistryConflict(RegistryError):
    code = "federation.registry.conflict"
    http_status = 409


class DuplicateMember(RegistryConflict):
    code = "federation.registry.duplicate_member"


class DuplicateSubsystem(RegistryConflict):
    code = "federation.registry.duplicate_subsystem"


class DuplicateGateway(RegistryConflict):
    code = "federation.registry.duplicate_gateway"


class DuplicateAuthCert(RegistryConflict):
    """The auth certificate is already registered (to this or another gateway)."""

    code = "federation.registry.duplicate_auth_cert"


class DuplicateName(RegistryConflict):
    """A CA, TSA, member class, global group or API key with this name exists."""

    code = "federation.registry.duplicate_name"


class UnregisteredAuthCert(RegistryError):
    """A management request was signed with an auth certificate not registered to its gateway."""

    code = "federation.registry.unregistered_auth_cert"
    http_status = 403


class UnknownMemberClass(RegistryNotFound):
    code = "federation.registry.unknown_member_class"
    http_status = 400


class UnknownMember(RegistryNotFound):
    code = "federation.registry.unknown_member"


class UnknownSubsystem(RegistryNotFound):
    code = "federation.registry.unknown_subsystem"


class UnknownGateway(RegistryNotFound):
    code = "federation.registry.unknown_gateway"


class WrongInstance(RegistryInvalidInput):
    """An identifier names another instance than the one this registry governs."""

    code = "federation.registry.wrong_instance"


class InvalidCertificate(RegistryInvalidInput):
    code = "federation.registry.invalid_certificate"


class InUse(RegistryConflict):
    """The object is still referred to (a member class with members, a built-in group...)."""

    code = "federation.registry.in_use"


class InvalidSetting(RegistryInvalidInput):
    code = "federation.registry.invalid_setting"


class NotInitialised(RegistryError):
    code = "federation.registry.not_initialised"
    http_status = 500


class DatabaseFailure(RegistryError):
    """The database cannot be opened, migrated or written."""

    code = "federation.registry.database"
    http_status = 503
