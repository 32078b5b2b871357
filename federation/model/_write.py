"""Writing the parameter XML of global configuration (version 6 by default).

The counterpart of :mod:`federation.model._read` (which re-exports these functions):
children of ``conf`` unqualified, identifier fields qualified (``id:`` prefix),
UTF-8 with an XML declaration. ``version=2..5`` writes the older shapes and omits
what those versions lack; the output of every version validates against X-Road's
schema of that version (the tests check it with X-Road's XSDs).
"""

from __future__ import annotations

import base64
import datetime as dt

from lxml import etree

from trust.protocol import IDENTIFIERS_NS, ClientId, id_to_xml

from ._model import CURRENT_VERSION, SUPPORTED_VERSIONS, XROAD_NS, CaInfo, SharedParameters
from ._private import (
    ConfigurationAnchor, FetchIntervalParameters, MonitoringParameters, NextUpdateParameters, PrivateParameters,
)
from ._errors import ConfSchemaInvalid

_CONF = f"{{{XROAD_NS}}}conf"


def _check_version(version: int) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise ConfSchemaInvalid(f"configuration version {version} is not supported (2 to 6 are)")


def _new_root() -> etree._Element:
    return etree.Element(_CONF, nsmap={"tns": XROAD_NS, "id": IDENTIFIERS_NS})


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, name)
    if text is not None:
        el.text = text
    return el


def _add_present(parent: etree._Element, name: str, text: str | None) -> None:
    """Add an optional element: only when there is a value for it."""
    if text is not None:
        _add(parent, name, text)


def _b64text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True, pretty_print=True)


def write_shared_parameters(params: SharedParameters, *, version: int = CURRENT_VERSION) -> bytes:
    """Serialise shared parameters as the ``conf`` document of ``version`` (default 6).

    ``member``/``subsystem`` elements get ids ``id0``, ``id1``... in order;
    ``owner`` and ``client`` refer to them, so every owner must be one of
    ``params.members`` and every client a member or subsystem listed there
    (:class:`ConfSchemaInvalid` otherwise). ``authCertHash`` values are written as
    given: SHA-256 digests for version 3+, SHA-1 for version 2
    (:func:`federation.model._model.auth_cert_hash` computes either). Fields that the
    requested version lacks are omitted; version 3+ needs at least one source.
    """
    _check_version(version)
    if version >= 3 and not params.sources:
        raise ConfSchemaInvalid("shared parameters of version 3 and later need at least one source")
    root = _new_root()
    _add(root, "instanceIdentifier", params.instance)
    if version >= 3:
        for source in params.sources:
            s = _add(root, "source")
            _add(s, "address", source.address)
            for cert in source.internal_certs:
                _add(s, "internalVerificationCert", _b64text(cert))
            for cert in source.external_certs:
                _add(s, "externalVerificationCert", _b64text(cert))

    def write_ca(parent: etree._Element, tag: str, info: CaInfo) -> None:
        c = _add(parent, tag)
        _add(c, "cert", _b64text(info.cert))
        for ocsp in info.ocsp:
            o = _add(c, "ocsp")
            _add(o, "url", ocsp.url)
            if ocsp.cert is not None:
                _add(o, "cert", _b64text(ocsp.cert))
            if version >= 6 and ocsp.cost_type is not None:
                _add(o, "costType", ocsp.cost_type)

    for ca in params.approved_cas:
        el = _add(root, "approvedCA")
        _add(el, "name", ca.name)
        if ca.authentication_only is not None:
            _add(el, "authenticationOnly", "true" if ca.authentication_only else "false")
        write_ca(el, "topCA", ca.top_ca)
        for inter in ca.intermediate_cas:
            write_ca(el, "intermediateCA", inter)
        _add(el, "certificateProfileInfo", ca.certificate_profile_info)
        if version >= 6 and ca.default_csr_format is not None:
            _add(el, "defaultCsrFormat", ca.default_csr_format)
        if version >= 3 and ca.acme_server is not None:
            a = _add(el, "acmeServer")
            _add(a, "directoryURL", ca.acme_server.directory_url)
            _add_present(a, "ipAddress", ca.acme_server.ip_address)
            if version >= 4:
                _add_present(a, "authenticationCertificateProfileId",
                             ca.acme_server.authentication_certificate_profile_id)
                _add_present(a, "signingCertificateProfileId", ca.acme_server.signing_certificate_profile_id)

    for tsa in params.approved_tsas:
        el = _add(root, "approvedTSA")
        _add(el, "name", tsa.name)
        _add(el, "url", tsa.url)
        _add(el, "cert", _b64text(tsa.cert))
        if version >= 6 and tsa.cost_type is not None:
            _add(el, "costType", tsa.cost_type)

    refs: dict[ClientId, str] = {}
    counter = 0
    for member in params.members:
        el = _add(root, "member")
        key = f"id{counter}"
        counter += 1
        el.set("id", key)
        refs[member.member_id(params.instance)] = key
        mc = _add(el, "memberClass")
        _add(mc, "code", member.member_class.code)
        _add(mc, "description", member.member_class.description)
        _add(el, "memberCode", member.member_code)
        _add(el, "name", member.name)
        for sub in member.subsystems:
            s = _add(el, "subsystem")
            skey = f"id{counter}"
            counter += 1
            s.set("id", skey)
            refs[member.subsystem_id(params.instance, sub)] = skey
            _add(s, "subsystemCode", sub.code)
            if version >= 5 and sub.name is not None:
                _add(s, "subsystemName", sub.name)

    def ref(client: ClientId, what: str) -> str:
        key = refs.get(client)
        if key is None:
            raise ConfSchemaInvalid(f"{what} {client.to_text()} is not a member or subsystem of {params.instance}")
        return key

    for server in params.security_servers:
        el = _add(root, "securityServer")
        _add(el, "owner", ref(server.owner, "owner"))
        _add(el, "serverCode", server.server_code)
        _add_present(el, "address", server.address)
        for digest in server.auth_cert_hashes:
            _add(el, "authCertHash", _b64text(digest))
        for client in server.clients:
            _add(el, "client", ref(client, f"client of server {server.server_code}"))
        if version >= 5 and server.maintenance is not None:
            mm = _add(el, "inMaintenanceMode")
            _add_present(mm, "message", server.maintenance.message)

    for group in params.global_groups:
        el = _add(root, "globalGroup")
        _add(el, "groupCode", group.code)
        _add(el, "description", group.description)
        for client in group.members:
            id_to_xml(client, "groupMember", el)

    for service in params.central_services:
        el = _add(root, "centralService")
        _add(el, "serviceCode", service.service_code)
        if service.implementing_service is not None:
            id_to_xml(service.implementing_service, "implementingService", el)

    gs = _add(root, "globalSettings")
    for mc_value in params.member_classes:
        mc = _add(gs, "memberClass")
        _add(mc, "code", mc_value.code)
        _add(mc, "description", mc_value.description)
    _add(gs, "ocspFreshnessSeconds", str(params.ocsp_freshness_seconds))
    return _serialise(root)


def anchor_element(anchor: ConfigurationAnchor, tag: str) -> etree._Element:
    """The ``ConfigurationAnchorType`` element (anchor file root or private-parameters entry)."""
    el = etree.Element(tag, nsmap={"tns": XROAD_NS}) if tag.startswith("{") else etree.Element(tag)
    if anchor.generated_at is not None:
        _add(el, "generatedAt", _xml_datetime(anchor.generated_at))
    _add(el, "instanceIdentifier", anchor.instance)
    for source in anchor.sources:
        s = _add(el, "source")
        _add(s, "downloadURL", source.download_url)
        for cert in source.verification_certs:
            _add(s, "verificationCert", _b64text(cert))
    return el


def _xml_datetime(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ConfSchemaInvalid("refusing to write a naive datetime")
    utc = moment.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def write_private_parameters(params: PrivateParameters, *, version: int = CURRENT_VERSION) -> bytes:
    """Serialise private parameters (the v2 shape for ``version=2``, the v3 shape otherwise)."""
    _check_version(version)
    root = _new_root()
    _add(root, "instanceIdentifier", params.instance)
    for anchor in params.anchors:
        root.append(anchor_element(anchor, "configurationAnchor"))
    ms = _add(root, "managementService")
    m = params.management_service
    _add(ms, "authCertRegServiceAddress", m.auth_cert_reg_service_address)
    if m.auth_cert_reg_service_cert is not None:
        _add(ms, "authCertRegServiceCert", _b64text(m.auth_cert_reg_service_cert))
    id_to_xml(m.management_request_service_provider_id, "managementRequestServiceProviderId", ms)
    _add(root, "timeStampingIntervalSeconds", str(params.time_stamping_interval_seconds))
    return _serialise(root)


def write_monitoring_parameters(params: MonitoringParameters) -> bytes:
    root = _new_root()
    mc = _add(root, "monitoringClient")
    if params.monitoring_client_id is not None:
        id_to_xml(params.monitoring_client_id, "monitoringClientId", mc)
    return _serialise(root)


def write_fetch_interval_parameters(params: FetchIntervalParameters) -> bytes:
    root = _new_root()
    _add(root, "ocspFetchInterval", str(params.ocsp_fetch_interval))
    return _serialise(root)


def write_next_update_parameters(params: NextUpdateParameters) -> bytes:
    root = _new_root()
    _add(root, "verifyNextUpdate", "true" if params.verify_next_update else "false")
    return _serialise(root)
