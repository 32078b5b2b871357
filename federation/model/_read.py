"""Reading and writing the parameter XML of global configuration, versions 2 to 6.

Reading is strict about structure and lenient about the quirks real files have
(NOTES section 9):

* children of ``conf`` are unqualified (a ``tns:``-qualified child is tolerated);
  identifier fields inside ``groupMember`` & co. are qualified;
* base64 values may carry line breaks, ``&#13;`` and indentation; they are stripped
  before decoding; certificates that turn out to be base64 of PEM text are
  normalised to DER;
* X-Road's own version-3 files carry the ACME profile ids of version 4; they are
  accepted in version 3 (and never written there);
* ``authCertHash`` is SHA-1 in version 2 and SHA-256 from version 3 (the bytes are
  kept; :attr:`SharedParameters.auth_cert_hash_algorithm` says which).

Strict means: the root is ``{http://x-road.eu/xsd/xroad.xsd}conf``, every element of
the version's schema is checked for presence, order, cardinality and type (integers,
booleans, base64, enumerations, dateTime), ``ID``\\s are unique and every ``IDREF``
(``owner``, ``client``) resolves. sild does not ship X-Road's XSDs and does not
need them at run time: this module is the schema. Tests additionally validate what
it writes against X-Road's own XSDs from the conformance folder.

Untrusted bytes are parsed only through :func:`trust.infra._safexml.parse_xml`.
The structural schema lives in :mod:`._schema`, the shared-parameters reader (the
largest) in :mod:`._read_shared`, the writers in :mod:`._write`; this module reads
the other parts. Callers import readers and writers from the room's face,
:mod:`federation.model`.

Writing produces version 6 by default (``version=3..5`` writes the older shapes,
dropping the fields those versions lack; ``version=2`` likewise, without ``source``).
"""

from __future__ import annotations

from lxml import etree

from ._private import (
    AnchorSource, ConfigurationAnchor, FetchIntervalParameters, ManagementService, MonitoringParameters,
    NextUpdateParameters, PrivateParameters,
)
from ._errors import ConfSchemaInvalid
from ._schema import _F, _bool, _cert, _check_version, _children, _client, _datetime, _int, _root, _str, _v


# -- private parameters: reading ------------------------------------------------


def parse_anchor_element(el: etree._Element, what: str = "configurationAnchor") -> ConfigurationAnchor:
    f = _children(el, [_F("generatedAt", 0), _F("instanceIdentifier"), _F("source", 1, None)], what)
    sources = []
    for s in f["source"]:
        sf = _children(s, [_F("downloadURL"), _F("verificationCert", 1, None)], f"{what} source")
        sources.append(
            AnchorSource(
                download_url=_str(sf["downloadURL"][0], "downloadURL"),
                verification_certs=tuple(_cert(c, "verificationCert") for c in sf["verificationCert"]),
            )
        )
    return ConfigurationAnchor(
        instance=_str(f["instanceIdentifier"][0], f"{what} instanceIdentifier"),
        sources=tuple(sources),
        generated_at=_datetime(f["generatedAt"][0], "generatedAt") if f["generatedAt"] else None,
    )


def parse_private_parameters(data: bytes, *, version: int | None = None) -> PrivateParameters:
    """Read private parameters (version 2 schema, or the version 3 one used by 3..6)."""
    _check_version(version)
    root = _root(data, "private parameters")
    top = _children(
        root,
        [_F("instanceIdentifier"), _F("configurationAnchor", 0, None), _F("managementService"), _F("timeStampingIntervalSeconds")],
        "private parameters",
        any_tail=_v(version, 3),
    )
    ms = _children(
        top["managementService"][0],
        [_F("authCertRegServiceAddress"), _F("authCertRegServiceCert", 0), _F("managementRequestServiceProviderId")],
        "managementService",
    )
    interval = _int(top["timeStampingIntervalSeconds"][0], "timeStampingIntervalSeconds")
    if interval <= 0:
        raise ConfSchemaInvalid("timeStampingIntervalSeconds must be positive")
    return PrivateParameters(
        instance=_str(top["instanceIdentifier"][0], "instanceIdentifier"),
        anchors=tuple(parse_anchor_element(a, "configurationAnchor") for a in top["configurationAnchor"]),
        management_service=ManagementService(
            auth_cert_reg_service_address=_str(ms["authCertRegServiceAddress"][0], "authCertRegServiceAddress"),
            auth_cert_reg_service_cert=_cert(ms["authCertRegServiceCert"][0], "authCertRegServiceCert")
            if ms["authCertRegServiceCert"]
            else None,
            management_request_service_provider_id=_client(
                ms["managementRequestServiceProviderId"][0], "managementRequestServiceProviderId"
            ),
        ),
        time_stamping_interval_seconds=interval,
        version=version if version is not None else 6,
    )


# -- optional parts: reading ------------------------------------------------------


def parse_monitoring_parameters(data: bytes) -> MonitoringParameters:
    root = _root(data, "monitoring parameters")
    top = _children(root, [_F("monitoringClient")], "monitoring parameters")
    f = _children(top["monitoringClient"][0], [_F("monitoringClientId", 0)], "monitoringClient")
    client = _client(f["monitoringClientId"][0], "monitoringClientId") if f["monitoringClientId"] else None
    return MonitoringParameters(client)


def parse_fetch_interval_parameters(data: bytes) -> FetchIntervalParameters:
    root = _root(data, "OCSP fetch interval parameters")
    top = _children(root, [_F("ocspFetchInterval")], "OCSP fetch interval parameters")
    value = _int(top["ocspFetchInterval"][0], "ocspFetchInterval")
    if not -(2**31) <= value < 2**31:
        raise ConfSchemaInvalid("ocspFetchInterval does not fit xs:int")
    return FetchIntervalParameters(value)


def parse_next_update_parameters(data: bytes) -> NextUpdateParameters:
    root = _root(data, "OCSP next update parameters")
    top = _children(root, [_F("verifyNextUpdate")], "OCSP next update parameters")
    return NextUpdateParameters(_bool(top["verifyNextUpdate"][0], "verifyNextUpdate"))

