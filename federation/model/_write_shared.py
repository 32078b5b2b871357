"""Writing shared parameters: one method per section of the ``conf`` document.

The counterpart of :mod:`federation.model._read_shared`. Sections are written in the
order X-Road's schema requires; a field the requested version lacks is left out, so
the output of every version validates against that version's XSD.
"""

from __future__ import annotations

from lxml import etree

from trust.protocol import ClientId, id_to_xml

from ._errors import ConfSchemaInvalid
from ._model import CURRENT_VERSION, CaInfo, SharedParameters
from ._write import _add, _add_present, _b64text, _check_version, _new_root, _serialise


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
    writer = _SharedWriter(params, version)
    for section in (writer.sources, writer.approved_cas, writer.approved_tsas, writer.members,
                    writer.security_servers, writer.global_groups, writer.central_services, writer.global_settings):
        section()
    return _serialise(writer.root)


class _SharedWriter:
    """The ``conf`` document of one set of shared parameters, written section by section."""

    def __init__(self, params: SharedParameters, version: int) -> None:
        self.params = params
        self.version = version
        self.root = _new_root()
        _add(self.root, "instanceIdentifier", params.instance)
        self.refs: dict[ClientId, str] = {}  # member/subsystem -> its element id
        self._ids = 0  # element ids handed out (a repeated identifier still gets an id of its own)

    def sources(self) -> None:
        if self.version < 3:
            return
        for source in self.params.sources:
            s = _add(self.root, "source")
            _add(s, "address", source.address)
            for cert in source.internal_certs:
                _add(s, "internalVerificationCert", _b64text(cert))
            for cert in source.external_certs:
                _add(s, "externalVerificationCert", _b64text(cert))

    def _ca(self, parent: etree._Element, tag: str, info: CaInfo) -> None:
        c = _add(parent, tag)
        _add(c, "cert", _b64text(info.cert))
        for ocsp in info.ocsp:
            o = _add(c, "ocsp")
            _add(o, "url", ocsp.url)
            if ocsp.cert is not None:
                _add(o, "cert", _b64text(ocsp.cert))
            if self.version >= 6 and ocsp.cost_type is not None:
                _add(o, "costType", ocsp.cost_type)

    def approved_cas(self) -> None:
        version = self.version
        for ca in self.params.approved_cas:
            el = _add(self.root, "approvedCA")
            _add(el, "name", ca.name)
            if ca.authentication_only is not None:
                _add(el, "authenticationOnly", "true" if ca.authentication_only else "false")
            self._ca(el, "topCA", ca.top_ca)
            for inter in ca.intermediate_cas:
                self._ca(el, "intermediateCA", inter)
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

    def approved_tsas(self) -> None:
        for tsa in self.params.approved_tsas:
            el = _add(self.root, "approvedTSA")
            _add(el, "name", tsa.name)
            _add(el, "url", tsa.url)
            _add(el, "cert", _b64text(tsa.cert))
            if self.version >= 6 and tsa.cost_type is not None:
                _add(el, "costType", tsa.cost_type)

    def members(self) -> None:
        params = self.params
        for member in params.members:
            el = _add(self.root, "member")
            el.set("id", self._ref_for(member.member_id(params.instance)))
            mc = _add(el, "memberClass")
            _add(mc, "code", member.member_class.code)
            _add(mc, "description", member.member_class.description)
            _add(el, "memberCode", member.member_code)
            _add(el, "name", member.name)
            for sub in member.subsystems:
                s = _add(el, "subsystem")
                s.set("id", self._ref_for(member.subsystem_id(params.instance, sub)))
                _add(s, "subsystemCode", sub.code)
                if self.version >= 5 and sub.name is not None:
                    _add(s, "subsystemName", sub.name)

    def _ref_for(self, client: ClientId) -> str:
        """The next element id (``id0``, ``id1``...), recorded for ``client``."""
        key = f"id{self._ids}"
        self._ids += 1
        self.refs[client] = key
        return key

    def _ref(self, client: ClientId, what: str) -> str:
        key = self.refs.get(client)
        if key is None:
            raise ConfSchemaInvalid(f"{what} {client.to_text()} is not a member or subsystem of {self.params.instance}")
        return key

    def security_servers(self) -> None:
        for server in self.params.security_servers:
            el = _add(self.root, "securityServer")
            _add(el, "owner", self._ref(server.owner, "owner"))
            _add(el, "serverCode", server.server_code)
            _add_present(el, "address", server.address)
            for digest in server.auth_cert_hashes:
                _add(el, "authCertHash", _b64text(digest))
            for client in server.clients:
                _add(el, "client", self._ref(client, f"client of server {server.server_code}"))
            if self.version >= 5 and server.maintenance is not None:
                mm = _add(el, "inMaintenanceMode")
                _add_present(mm, "message", server.maintenance.message)

    def global_groups(self) -> None:
        for group in self.params.global_groups:
            el = _add(self.root, "globalGroup")
            _add(el, "groupCode", group.code)
            _add(el, "description", group.description)
            for client in group.members:
                id_to_xml(client, "groupMember", el)

    def central_services(self) -> None:
        for service in self.params.central_services:
            el = _add(self.root, "centralService")
            _add(el, "serviceCode", service.service_code)
            if service.implementing_service is not None:
                id_to_xml(service.implementing_service, "implementingService", el)

    def global_settings(self) -> None:
        gs = _add(self.root, "globalSettings")
        for mc_value in self.params.member_classes:
            mc = _add(gs, "memberClass")
            _add(mc, "code", mc_value.code)
            _add(mc, "description", mc_value.description)
        _add(gs, "ocspFreshnessSeconds", str(self.params.ocsp_freshness_seconds))
