"""Error leaves for global configuration (codes ``federation.conf.*``).

Each way a configuration can be refused has its own leaf and stable code, so that a
gateway can log *why* it kept its last good copy, a CLI can print a one-line reason
and tests can assert the exact refusal. Messages may change; codes may not.
"""

from __future__ import annotations

from federation.errors import FederationError


class ConfError(FederationError):
    """Base of every global configuration refusal."""

    code = "federation.conf.error"


class ConfMalformed(ConfError):
    """The signed directory is not the two-level multipart X-Road defines."""

    code = "federation.conf.malformed"


class ConfMissingExpiry(ConfMalformed):
    """The inner multipart has no ``Expire-date`` header (or it cannot be read)."""

    code = "federation.conf.missing_expiry"


class ConfMissingSignature(ConfMalformed):
    """The outer multipart has no signature part, or the signature part is empty."""

    code = "federation.conf.missing_signature"


class ConfBadSignature(ConfError):
    """The signature does not verify over the inner body with the named certificate."""

    code = "federation.conf.bad_signature"


class ConfUnknownVerificationCert(ConfError):
    """``Verification-certificate-hash`` names no certificate of the anchor."""

    code = "federation.conf.unknown_verification_cert"


class ConfExpired(ConfError):
    """The directory's ``Expire-date`` is in the past at the moment of checking."""

    code = "federation.conf.expired"


class ConfHashMismatch(ConfError):
    """A part's bytes do not have the hash that the signed directory lists."""

    code = "federation.conf.hash_mismatch"


class ConfMissingPart(ConfError):
    """A part listed in the directory could not be obtained, or a required part is absent."""

    code = "federation.conf.missing_part"


class ConfSchemaInvalid(ConfError):
    """A parameter file is not well-formed or does not follow its schema."""

    code = "federation.conf.schema_invalid"


class ConfInstanceMismatch(ConfError):
    """Content belongs to another instance than the one it claims or was expected."""

    code = "federation.conf.instance_mismatch"


class ConfOutdated(ConfError):
    """The own instance's configuration has expired: gateways stop all traffic.

    This is X-Road's ``global_conf_outdated``; :attr:`xroad_code` is what the proxy
    puts on the wire (prefixed by the side that detected it).
    """

    code = "federation.conf.outdated"
    xroad_code = "global_conf_outdated"


class ConfDownloadFailed(ConfError):
    """No configuration source answered with a usable directory."""

    code = "federation.conf.download_failed"


class AnchorInvalid(ConfError):
    """A configuration anchor file is not a valid X-Road anchor."""

    code = "federation.conf.anchor_invalid"


class ConfTreeInvalid(ConfError):
    """A stored configuration tree on disk is incomplete or damaged."""

    code = "federation.conf.tree_invalid"
