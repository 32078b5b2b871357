"""The one exception tree of sild.

Every error sild raises on purpose derives from :class:`SildError`. Each package has
one branch (``TrustError``, ``FederationError``, ``GatewayError``, ``AdapterError``),
X-Road's protocol vocabulary (``trust.protocol``) has ``ProtocolError``, and every
class carries a stable ``code`` (snake_case, dotted where it is namespaced) that logs,
CLIs and protocol edges rely on: messages may change, codes may not, and no two
classes share one. Third-party exceptions are translated at the boundary with
``raise ... from exc`` so the cause stays visible in logs but never leaks to a peer.
At a protocol edge a code becomes an X-Road fault code through the one table of
``trust.protocol`` (``server.clientproxy.access_denied``); at the CLI it ends the
one-line message; at an admin API it is the ``error.code`` of the JSON error body.

The root lives in ``trust`` because ``trust`` is the innermost layer: every other
package may import it, it imports none of them. The classes themselves live beside
the code that raises them; this docstring draws them all, with each code and the
room (package) it lives in (``tests/trust/test_errors.py`` keeps the drawing
true: ``python -m tests.trust.test_errors`` prints it).

The tree::

    SildError [sild.error] (trust.errors)
    ├── AdapterError [adapters.error] (adapters.errors)
    │   ├── AdapterFault [server.adapter.internal_error] (adapters.soap)
    │   ├── DefinitionError [adapters.definition.invalid] (adapters.definition)
    │   ├── MappingError [adapters.mapping.failed] (adapters.definition)
    │   └── PayloadSignatureError [adapters.signature.invalid] (adapters.xmldsig)
    ├── FederationError [federation.error] (federation.errors)
    │   ├── ApiError [api.invalid_request] (federation.central.api)
    │   │   ├── ApiForbidden [api.forbidden] (federation.central.api)
    │   │   └── ApiUnauthorised [api.unauthorised] (federation.central.api)
    │   ├── CentralDirError [federation.central.directory] (federation.central.registry)
    │   ├── CliInputError [federation.cli.invalid_input] (federation.central)
    │   ├── ConfError [federation.conf.error] (federation.model)
    │   │   ├── AnchorInvalid [federation.conf.anchor_invalid] (federation.model)
    │   │   │   └── AnchorRefused [gateway.anchor.refused] (gateway.conf)
    │   │   ├── ConfBadSignature [federation.conf.bad_signature] (federation.model)
    │   │   ├── ConfDownloadFailed [federation.conf.download_failed] (federation.model)
    │   │   ├── ConfExpired [federation.conf.expired] (federation.model)
    │   │   ├── ConfHashMismatch [federation.conf.hash_mismatch] (federation.model)
    │   │   ├── ConfInstanceMismatch [federation.conf.instance_mismatch] (federation.model)
    │   │   ├── ConfMalformed [federation.conf.malformed] (federation.model)
    │   │   │   ├── ConfMissingExpiry [federation.conf.missing_expiry] (federation.model)
    │   │   │   └── ConfMissingSignature [federation.conf.missing_signature] (federation.model)
    │   │   ├── ConfMissingPart [federation.conf.missing_part] (federation.model)
    │   │   ├── ConfOutdated [federation.conf.outdated] (federation.model)
    │   │   ├── ConfRolledBack [federation.conf.rolled_back] (federation.client)
    │   │   ├── ConfSchemaInvalid [federation.conf.schema_invalid] (federation.model)
    │   │   ├── ConfTreeInvalid [federation.conf.tree_invalid] (federation.model)
    │   │   ├── ConfUnknownVerificationCert [federation.conf.unknown_verification_cert] (federation.model)
    │   │   └── UnknownInstance [federation.discovery.unknown_instance] (federation.discovery)
    │   ├── GenerationError [federation.generator.error] (federation.central)
    │   ├── PublishError [federation.publish.error] (federation.central)
    │   ├── RegistrationError [federation.registration.error] (federation.central)
    │   │   ├── RegistrationBadSignature [federation.registration.bad_signature] (federation.central)
    │   │   ├── RegistrationMalformed [federation.registration.malformed] (federation.central)
    │   │   ├── RegistrationStale [federation.registration.stale] (federation.central)
    │   │   ├── RegistrationUntrustedCert [federation.registration.untrusted_certificate] (federation.central)
    │   │   └── RegistrationWrongOwner [federation.registration.wrong_owner] (federation.central)
    │   └── RegistryError [federation.registry.error] (federation.central.registry)
    │       ├── DatabaseFailure [federation.registry.database] (federation.central.registry)
    │       ├── NotInitialised [federation.registry.not_initialised] (federation.central.registry)
    │       ├── RegistryConflict [federation.registry.conflict] (federation.central.registry)
    │       │   ├── DuplicateAuthCert [federation.registry.duplicate_auth_cert] (federation.central.registry)
    │       │   ├── DuplicateGateway [federation.registry.duplicate_gateway] (federation.central.registry)
    │       │   ├── DuplicateMember [federation.registry.duplicate_member] (federation.central.registry)
    │       │   ├── DuplicateName [federation.registry.duplicate_name] (federation.central.registry)
    │       │   ├── DuplicateSubsystem [federation.registry.duplicate_subsystem] (federation.central.registry)
    │       │   └── InUse [federation.registry.in_use] (federation.central.registry)
    │       ├── RegistryInvalidInput [federation.registry.invalid_input] (federation.central.registry)
    │       │   ├── InvalidCertificate [federation.registry.invalid_certificate] (federation.central.registry)
    │       │   ├── InvalidSetting [federation.registry.invalid_setting] (federation.central.registry)
    │       │   └── WrongInstance [federation.registry.wrong_instance] (federation.central.registry)
    │       ├── RegistryNotFound [federation.registry.not_found] (federation.central.registry)
    │       │   ├── UnknownGateway [federation.registry.unknown_gateway] (federation.central.registry)
    │       │   ├── UnknownMember [federation.registry.unknown_member] (federation.central.registry)
    │       │   ├── UnknownMemberClass [federation.registry.unknown_member_class] (federation.central.registry)
    │       │   └── UnknownSubsystem [federation.registry.unknown_subsystem] (federation.central.registry)
    │       └── UnregisteredAuthCert [federation.registry.unregistered_auth_cert] (federation.central.registry)
    ├── GatewayError [gateway.error] (gateway.errors)
    │   ├── ApiFailure [gateway.admin.ui.api_failure] (gateway.admin.ui)
    │   ├── ArchiveError [gateway.archive.error] (gateway.messagelog)
    │   │   ├── ArchiveChainBroken [gateway.archive.chain_broken] (gateway.messagelog)
    │   │   ├── EvidenceChainBroken [gateway.evidence.chain_broken] (gateway.messagelog)
    │   │   └── NotTimestamped [gateway.archive.not_timestamped] (gateway.messagelog)
    │   ├── BatchSigningError [gateway.signing.batch_failed] (gateway.signing)
    │   ├── DatabaseError [gateway.database.error] (gateway.db)
    │   ├── DemoStepFailed [gateway.demo.step_failed] (gateway.sandbox)
    │   ├── ExtractionFailed [gateway.tracker.no_subject] (gateway.tracker)
    │   ├── HttpError [gateway.http.error] (gateway.net)
    │   │   ├── HttpConnectError [gateway.http.connect_failed] (gateway.net)
    │   │   ├── HttpProtocolError [gateway.http.protocol_error] (gateway.net)
    │   │   ├── HttpTimeout [gateway.http.timeout] (gateway.net)
    │   │   └── ResponseTooLarge [gateway.http.response_too_large] (gateway.net)
    │   ├── MessageLogError [gateway.messagelog.error] (gateway.messagelog)
    │   │   ├── InvalidLogEntry [gateway.messagelog.invalid_entry] (gateway.messagelog)
    │   │   ├── RecordNotFound [gateway.messagelog.not_found] (gateway.messagelog)
    │   │   ├── TimestampingFailed [gateway.messagelog.timestamping_failed] (gateway.messagelog)
    │   │   ├── TimestampingOverdue [gateway.messagelog.timestamping_overdue] (gateway.messagelog)
    │   │   └── TsaNotApproved [gateway.messagelog.tsa_not_approved] (gateway.messagelog)
    │   ├── MessageLogWriteFailed [gateway.messagelog.write_failed] (gateway.messagelog)
    │   ├── NoFreePort [gateway.sandbox.no_free_port] (gateway.sandbox)
    │   ├── OpMonitoringError [gateway.opmonitoring.error] (gateway.monitoring)
    │   │   ├── InvalidOpQuery [gateway.opmonitoring.invalid_query] (gateway.monitoring)
    │   │   └── InvalidOpRecord [gateway.opmonitoring.invalid_record] (gateway.monitoring)
    │   ├── PeerError [gateway.peer.error] (gateway.net)
    │   │   ├── PeerCertificateRejected [ssl_authentication_failed] (gateway.net)
    │   │   ├── PeerNetworkError [network_error] (gateway.net)
    │   │   └── PeerResponseTooLarge [gateway.peer.response_too_large] (gateway.net)
    │   ├── SandboxError [gateway.sandbox.error] (gateway.sandbox)
    │   ├── ServerConfError [gateway.serverconf.error] (gateway.serverconf)
    │   │   ├── AlreadyExists [gateway.serverconf.already_exists] (gateway.serverconf)
    │   │   ├── IdentityNotSet [gateway.serverconf.identity_not_set] (gateway.serverconf)
    │   │   ├── InvalidInput [gateway.serverconf.invalid_input] (gateway.serverconf)
    │   │   └── NotFound [gateway.serverconf.not_found] (gateway.serverconf)
    │   │       ├── AccessRightNotFound [gateway.serverconf.access_right_not_found] (gateway.serverconf)
    │   │       ├── ClientNotFound [gateway.serverconf.client_not_found] (gateway.serverconf)
    │   │       ├── DescriptionNotFound [gateway.serverconf.description_not_found] (gateway.serverconf)
    │   │       ├── LocalGroupNotFound [gateway.serverconf.local_group_not_found] (gateway.serverconf)
    │   │       └── ServiceNotFound [gateway.serverconf.service_not_found] (gateway.serverconf)
    │   └── SetupError [gateway.setup.error] (gateway.settings)
    ├── ProtocolError [protocol.error] (trust.errors)
    │   ├── OpenApiError [gateway.openapi.invalid] (trust.protocol)
    │   ├── WsdlError [gateway.wsdl.invalid] (trust.protocol)
    │   └── XRoadFault [gateway.xroad_fault] (trust.protocol)
    │       └── HeaderFault [gateway.xroad_fault] (trust.protocol)
    └── TrustError [trust.error] (trust.errors)
        ├── AccountError [trust.accounts.error] (trust.accounts)
        │   ├── AccountExists [trust.accounts.exists] (trust.accounts)
        │   ├── AccountInvalid [trust.accounts.invalid] (trust.accounts)
        │   ├── AccountUnknown [trust.accounts.unknown] (trust.accounts)
        │   ├── LoginRefused [trust.accounts.login_refused] (trust.accounts)
        │   └── LoginThrottled [trust.accounts.throttled] (trust.accounts)
        ├── AsicError [trust.asic.invalid] (trust.xades)
        │   ├── AsicMissingEntry [trust.asic.missing_entry] (trust.xades)
        │   ├── AsicUnknownInstance [trust.asic.unknown_instance] (trust.xades)
        │   ├── AsicUnsignedEntry [trust.asic.unsigned_entry] (trust.xades)
        │   └── MessageUnreadable [trust.asic.message_unreadable] (trust.evidence)
        ├── BackupError [trust.backup.error] (trust.backup)
        │   ├── BackupDamaged [trust.backup.damaged] (trust.backup)
        │   └── BackupRefused [trust.backup.refused] (trust.backup)
        ├── CaDatabaseError [trust.ca.database] (trust.services)
        ├── CaError [trust.ca.error] (trust.services)
        │   ├── AlreadyRevoked [trust.ca.already_revoked] (trust.services)
        │   ├── CaAlreadyExists [trust.ca.exists] (trust.services)
        │   ├── CaNotInitialised [trust.ca.not_initialised] (trust.services)
        │   ├── CsrInvalid [trust.ca.csr_invalid] (trust.services)
        │   └── UnknownCertificate [trust.ca.unknown_certificate] (trust.services)
        ├── CertificateError [trust.cert.invalid] (trust.pki)
        ├── CertificateValidationError [trust.cert.validation_failed] (trust.pki)
        │   ├── CertificateExpired [trust.cert.expired] (trust.pki)
        │   ├── CertificateNotYetValid [trust.cert.not_yet_valid] (trust.pki)
        │   ├── CertificateRevoked [trust.cert.revoked] (trust.pki)
        │   ├── CertificateStale [trust.cert.ocsp_stale] (trust.pki)
        │   ├── CertificateStatusUnknown [trust.cert.status_unknown] (trust.pki)
        │   ├── OcspInvalid [trust.cert.ocsp_invalid] (trust.pki)
        │   ├── OcspMissing [trust.cert.ocsp_missing] (trust.pki)
        │   ├── UnknownIssuer [trust.cert.unknown_issuer] (trust.pki)
        │   └── WrongKeyUsage [trust.cert.wrong_key_usage] (trust.pki)
        ├── EvidenceError [trust.evidence.invalid] (trust.xades)
        │   ├── TimestampHashChainBroken [trust.evidence.hash_chain_broken] (trust.evidence)
        │   ├── TimestampMismatch [trust.evidence.timestamp_mismatch] (trust.xades)
        │   ├── TimestampMissing [trust.evidence.timestamp_missing] (trust.evidence)
        │   └── TimestampUntrusted [trust.evidence.timestamp_untrusted] (trust.xades)
        ├── IdentifierError [trust.identifier.invalid] (trust.errors)
        ├── KeyError_ [trust.key.error] (trust.errors)
        │   ├── KeyNotFound [trust.key.not_found] (trust.errors)
        │   └── WrongPin [trust.key.wrong_pin] (trust.errors)
        ├── OcspError [trust.ocsp.error] (trust.pki)
        │   ├── OcspCertificateMismatch [trust.ocsp.certificate_mismatch] (trust.pki)
        │   ├── OcspMalformed [trust.ocsp.malformed] (trust.pki)
        │   ├── OcspNonceMismatch [trust.ocsp.nonce_mismatch] (trust.pki)
        │   ├── OcspResponderNotAuthorised [trust.ocsp.responder_not_authorised] (trust.pki)
        │   ├── OcspResponseStatusError [trust.ocsp.unsuccessful] (trust.pki)
        │   ├── OcspSignatureInvalid [trust.ocsp.signature_invalid] (trust.pki)
        │   ├── OcspStale [trust.ocsp.stale] (trust.pki)
        │   ├── OcspUnavailable [trust.ocsp.unavailable] (trust.pki)
        │   └── OcspUnknownIssuer [trust.ocsp.unknown_issuer] (trust.pki)
        ├── SignatureError [trust.signature.invalid] (trust.xades)
        │   ├── BadSignatureValue [trust.signature.bad_value] (trust.xades)
        │   ├── CertificateUsage [trust.signature.certificate_usage] (trust.xades)
        │   ├── DigestMismatch [trust.signature.digest_mismatch] (trust.xades)
        │   ├── HashChainBroken [trust.signature.hash_chain_broken] (trust.xades)
        │   │   └── HashChainUnusedInput [trust.signature.hash_chain_unused_input] (trust.xades)
        │   ├── MissingReference [trust.signature.missing_reference] (trust.xades)
        │   ├── OcspInvalid [trust.signature.ocsp_invalid] (trust.xades)
        │   ├── OcspMissing [trust.signature.ocsp_missing] (trust.xades)
        │   ├── OcspRevoked [trust.signature.revoked] (trust.xades)
        │   ├── OcspStale [trust.signature.ocsp_stale] (trust.xades)
        │   ├── SignatureMalformed [trust.signature.malformed] (trust.xades)
        │   ├── SignerMismatch [trust.signature.signer_mismatch] (trust.xades)
        │   ├── UnknownCertificateProfile [trust.signature.unknown_certificate_profile] (trust.xades)
        │   └── UntrustedChain [trust.signature.untrusted_chain] (trust.xades)
        ├── TimestampError [trust.tsa.error] (trust.evidence)
        │   ├── TimestampCertificateInvalid [trust.tsa.certificate_invalid] (trust.evidence)
        │   ├── TimestampFromFuture [trust.tsa.from_future] (trust.evidence)
        │   ├── TimestampImprintMismatch [trust.tsa.imprint_mismatch] (trust.evidence)
        │   ├── TimestampMalformed [trust.tsa.malformed] (trust.evidence)
        │   ├── TimestampNonceMismatch [trust.tsa.nonce_mismatch] (trust.evidence)
        │   ├── TimestampRejected [trust.tsa.rejected] (trust.evidence)
        │   ├── TimestampSignatureInvalid [trust.tsa.signature_invalid] (trust.evidence)
        │   ├── TimestampUnavailable [trust.tsa.unavailable] (trust.evidence)
        │   ├── TimestampUnknownTsa [trust.tsa.unknown_tsa] (trust.evidence)
        │   └── TimestampUnsupportedAlgorithm [trust.tsa.unsupported_algorithm] (trust.evidence)
        ├── TlsError [trust.tls.error] (trust.pki)
        ├── UnsupportedAlgorithm [trust.algorithm.unsupported] (trust.errors)
        └── XmlError [trust.xml.invalid] (trust.errors)
            ├── XmlForbiddenConstruct [trust.xml.forbidden_construct] (trust.errors)
            ├── XmlSchemaError [trust.xml.schema_invalid] (trust.errors)
            ├── XmlTooDeep [trust.xml.too_deep] (trust.errors)
            └── XmlTooLarge [trust.xml.too_large] (trust.errors)

(end of the tree)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar


class SildError(Exception):
    """Root of every error sild raises on purpose."""

    code: ClassVar[str] = "sild.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            # a per-instance code, for errors whose code is data (X-Road fault codes)
            self.code = code  # type: ignore[misc]

    def __str__(self) -> str:
        return self.message

    def codes(self) -> Iterator[str]:
        """This error's code, then the codes its classes declare, most specific first.

        Every table that turns an error into something an edge speaks (an X-Road fault
        code, an HTTP status, another layer's error) looks codes up in this order, so an
        entry for a branch's code covers the leaves under it, as ``except`` would.
        """
        yield self.code
        for cls in type(self).__mro__:
            declared = vars(cls).get("code")
            if isinstance(declared, str) and declared != self.code:
                yield declared


class TrustError(SildError):
    """Branch for everything in ``trust``: identifiers, XML, keys, PKI, evidence."""

    code = "trust.error"


class ProtocolError(SildError):
    """Branch for X-Road's protocol vocabulary (``trust.protocol``): faults, SOAP, MIME, descriptions."""

    code = "protocol.error"


class IdentifierError(TrustError):
    """An identifier (text, XML or constructor input) is not well formed."""

    code = "trust.identifier.invalid"


class XmlError(TrustError):
    """Untrusted XML was refused by the safe parser."""

    code = "trust.xml.invalid"


class XmlTooLarge(XmlError):
    code = "trust.xml.too_large"


class XmlTooDeep(XmlError):
    code = "trust.xml.too_deep"


class XmlForbiddenConstruct(XmlError):
    """A DTD, entity declaration or processing trick that sild never accepts."""

    code = "trust.xml.forbidden_construct"


class XmlSchemaError(XmlError):
    """Well-formed XML that does not validate against its schema."""

    code = "trust.xml.schema_invalid"


class KeyError_(TrustError):
    """Base for key store problems (named with a trailing underscore: ``KeyError`` is a builtin)."""

    code = "trust.key.error"


class KeyNotFound(KeyError_):
    code = "trust.key.not_found"


class WrongPin(KeyError_):
    code = "trust.key.wrong_pin"


class UnsupportedAlgorithm(TrustError):
    code = "trust.algorithm.unsupported"
