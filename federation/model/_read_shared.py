"""Reading shared parameters, versions 2 to 6, against :mod:`._schema`.

Shared parameters are the largest part of global configuration and the one whose
shape changed in every version; reading them needs state that crosses sections (the
version features seen so far, for detection; the ``id`` table that ``owner`` and
``client`` IDREFs resolve against). :class:`_SharedReader` holds that state so each
section reads in its own method, in document order, with the first problem found
raised as :class:`ConfSchemaInvalid`.
"""

from __future__ import annotations

from lxml import etree

from trust.errors import IdentifierError
from trust.protocol import ClientId, MemberId, SubsystemId, service_from_xml

from ._errors import ConfSchemaInvalid
from ._model import (
    AcmeServer, ApprovedCaInfo, ApprovedTsaInfo, CaInfo, CentralService, ConfigurationSource, GlobalGroup,
    MaintenanceMode, Member, MemberClass, OcspInfo, SecurityServer, SharedParameters, Subsystem,
)
from ._schema import (
    _F, _NCNAME, _b64, _bool, _cert, _check_version, _children, _client, _enum, _int, _opt_str, _root,
    _safe_id, _str, _v,
)


def _shared_root_spec(version: int | None) -> list[_F]:
    spec = [_F("instanceIdentifier")]
    if version is None or version >= 3:
        spec.append(_F("source", 0 if version is None else 1, None))
    spec += [
        _F("approvedCA", 0, None),
        _F("approvedTSA", 0, None),
        _F("member", 0, None),
        _F("securityServer", 0, None),
        _F("globalGroup", 0, None),
        _F("centralService", 0, None),
        _F("globalSettings"),
    ]
    return spec


def parse_shared_parameters(data: bytes, *, version: int | None = None) -> SharedParameters:
    """Read shared parameters of ``version`` (2..6), or detect it when ``None``.

    With ``version=None`` the file is checked against the union of all versions and
    the model's ``version`` is the lowest version whose schema admits it. Raises
    :class:`ConfSchemaInvalid` with the first problem found.
    """
    _check_version(version)
    root = _root(data, "shared parameters")
    top = _children(root, _shared_root_spec(version), "shared parameters", any_tail=_v(version, 3))
    instance = _str(top["instanceIdentifier"][0], "instanceIdentifier")
    reader = _SharedReader(version, instance)
    sources = reader.sources(top.get("source", []))
    cas = [reader.approved_ca(el) for el in top["approvedCA"]]
    tsas = [reader.approved_tsa(el) for el in top["approvedTSA"]]
    members = [reader.member(el) for el in top["member"]]
    servers = [reader.security_server(el) for el in top["securityServer"]]
    groups = [reader.global_group(el) for el in top["globalGroup"]]
    central = [reader.central_service(el) for el in top["centralService"]]

    gs = _children(top["globalSettings"][0], [_F("memberClass", 0, None), _F("ocspFreshnessSeconds")], "globalSettings")
    freshness = _int(gs["ocspFreshnessSeconds"][0], "ocspFreshnessSeconds")
    if freshness <= 0:
        raise ConfSchemaInvalid("ocspFreshnessSeconds must be positive")

    detected = version if version is not None else max(reader.seen_features)
    return SharedParameters(
        instance=instance,
        sources=tuple(sources),
        approved_cas=tuple(cas),
        approved_tsas=tuple(tsas),
        members=tuple(members),
        security_servers=tuple(servers),
        global_groups=tuple(groups),
        central_services=tuple(central),
        member_classes=tuple(_member_class(m) for m in gs["memberClass"]),
        ocsp_freshness_seconds=freshness,
        version=detected,
    )


def _member_class(el: etree._Element) -> MemberClass:
    f = _children(el, [_F("code"), _F("description")], "memberClass")
    return MemberClass(_str(f["code"][0], "memberClass code"), _str(f["description"][0], "memberClass description", required=False))


class _SharedReader:
    """The sections of one shared-parameters file, and the state they share."""

    def __init__(self, version: int | None, instance: str) -> None:
        self.version = version
        self.instance = instance
        self.seen_features = {2}
        self.ids: dict[str, ClientId] = {}
        self.member_ids: set[str] = set()

    def sources(self, elements: list[etree._Element]) -> list[ConfigurationSource]:
        sources = []
        for el in elements:
            self.seen_features.add(3)
            f = _children(el, [_F("address"), _F("internalVerificationCert", 0, None), _F("externalVerificationCert", 0, None)], "source")
            sources.append(
                ConfigurationSource(
                    address=_str(f["address"][0], "source address"),
                    internal_certs=tuple(_cert(c, "internalVerificationCert") for c in f["internalVerificationCert"]),
                    external_certs=tuple(_cert(c, "externalVerificationCert") for c in f["externalVerificationCert"]),
                )
            )
        return sources

    def _costed(self, el: etree._Element, spec: list[_F],
                what: str) -> tuple[dict[str, list[etree._Element]], str | None]:
        """The children of an OCSP responder or TSA: ``spec``, then from version 6 an
        optional ``costType``; with that cost type (``None`` when absent)."""
        if _v(self.version, 6):
            spec = [*spec, _F("costType", 0)]
        f = _children(el, spec, what)
        if not f.get("costType"):
            return f, None
        self.seen_features.add(6)
        return f, _enum(f["costType"][0], "costType", ("FREE", "PAID", "UNDEFINED"))

    def _ocsp_info(self, el: etree._Element) -> OcspInfo:
        f, cost = self._costed(el, [_F("url"), _F("cert", 0)], "ocsp")
        return OcspInfo(
            url=_str(f["url"][0], "ocsp url"),
            cert=_cert(f["cert"][0], "ocsp cert") if f["cert"] else None,
            cost_type=cost,
        )

    def _ca_info(self, el: etree._Element, what: str) -> CaInfo:
        f = _children(el, [_F("cert"), _F("ocsp", 0, None)], what)
        return CaInfo(cert=_cert(f["cert"][0], f"{what} cert"), ocsp=tuple(self._ocsp_info(o) for o in f["ocsp"]))

    def _acme_server(self, el: etree._Element, name: str) -> AcmeServer:
        self.seen_features.add(3)
        # The profile ids arrived in version 4, but X-Road's own version-3 output
        # (served/V3 in the vectors) carries them too; accept them from version 3 on.
        aspec = [
            _F("directoryURL"),
            _F("ipAddress", 0),
            _F("authenticationCertificateProfileId", 0),
            _F("signingCertificateProfileId", 0),
        ]
        a = _children(el, aspec, f"acmeServer of {name}")
        if a.get("authenticationCertificateProfileId") or a.get("signingCertificateProfileId"):
            self.seen_features.add(4)
        return AcmeServer(
            directory_url=_str(a["directoryURL"][0], "directoryURL"),
            ip_address=_opt_str(a, "ipAddress", "acmeServer"),
            authentication_certificate_profile_id=_opt_str(a, "authenticationCertificateProfileId", "acmeServer"),
            signing_certificate_profile_id=_opt_str(a, "signingCertificateProfileId", "acmeServer"),
        )

    def approved_ca(self, el: etree._Element) -> ApprovedCaInfo:
        spec = [_F("name"), _F("authenticationOnly", 0), _F("topCA"), _F("intermediateCA", 0, None), _F("certificateProfileInfo")]
        if _v(self.version, 6):
            spec.append(_F("defaultCsrFormat", 0))
        if _v(self.version, 3):
            spec.append(_F("acmeServer", 0))
        f = _children(el, spec, "approvedCA")
        name = _str(f["name"][0], "approvedCA name")
        acme = self._acme_server(f["acmeServer"][0], name) if f.get("acmeServer") else None
        csr = None
        if f.get("defaultCsrFormat"):
            self.seen_features.add(6)
            csr = _enum(f["defaultCsrFormat"][0], "defaultCsrFormat", ("PEM", "DER"))
        return ApprovedCaInfo(
            name=name,
            authentication_only=_bool(f["authenticationOnly"][0], "authenticationOnly") if f["authenticationOnly"] else None,
            top_ca=self._ca_info(f["topCA"][0], f"topCA of {name}"),
            intermediate_cas=tuple(self._ca_info(i, f"intermediateCA of {name}") for i in f["intermediateCA"]),
            certificate_profile_info=_str(f["certificateProfileInfo"][0], "certificateProfileInfo"),
            default_csr_format=csr,
            acme_server=acme,
        )

    def approved_tsa(self, el: etree._Element) -> ApprovedTsaInfo:
        f, cost = self._costed(el, [_F("name"), _F("url"), _F("cert")], "approvedTSA")
        return ApprovedTsaInfo(
            name=_str(f["name"][0], "approvedTSA name"),
            url=_str(f["url"][0], "approvedTSA url"),
            cert=_cert(f["cert"][0], "approvedTSA cert"),
            cost_type=cost,
        )

    def _register_id(self, el: etree._Element, value: ClientId) -> None:
        raw = el.get("id")
        if raw is None:
            return
        key = raw.strip()
        if not _NCNAME.match(key):
            raise ConfSchemaInvalid(f"id {raw!r} is not a valid xs:ID")
        if key in self.ids:
            raise ConfSchemaInvalid(f"id {key!r} is used twice")
        self.ids[key] = value

    def member(self, el: etree._Element) -> Member:
        instance = self.instance
        f = _children(el, [_F("memberClass"), _F("memberCode"), _F("name"), _F("subsystem", 0, None)], "member")
        mclass = _member_class(f["memberClass"][0])
        code = _str(f["memberCode"][0], "memberCode")
        mid = MemberId(instance, mclass.code, code) if _safe_id(instance, mclass.code, code) else None
        if mid is None:
            raise ConfSchemaInvalid(f"member {mclass.code}/{code} has an invalid identifier")
        self._register_id(el, mid)
        if el.get("id") is not None:
            self.member_ids.add(el.get("id", "").strip())
        subsystems = []
        for sel in f["subsystem"]:
            sspec = [_F("subsystemCode")]
            if _v(self.version, 5):
                sspec.append(_F("subsystemName", 0))
            s = _children(sel, sspec, f"subsystem of {code}")
            sname = None
            if s.get("subsystemName"):
                self.seen_features.add(5)
                sname = _str(s["subsystemName"][0], "subsystemName", required=False)
            sub = Subsystem(_str(s["subsystemCode"][0], "subsystemCode"), sname)
            try:
                self._register_id(sel, SubsystemId(instance, mclass.code, code, sub.code))
            except IdentifierError as exc:
                raise ConfSchemaInvalid(f"subsystem {sub.code}: {exc}") from exc
            subsystems.append(sub)
        return Member(mclass, code, _str(f["name"][0], "member name", required=False), tuple(subsystems))

    def _idref(self, el: etree._Element, what: str, *, members_only: bool = False) -> ClientId:
        key = _str(el, what)
        if key not in self.ids:
            raise ConfSchemaInvalid(f"{what} refers to id {key!r}, which no member or subsystem has")
        if members_only and key not in self.member_ids:
            raise ConfSchemaInvalid(f"{what} {key!r} must refer to a member, not a subsystem")
        return self.ids[key]

    def security_server(self, el: etree._Element) -> SecurityServer:
        spec = [_F("owner"), _F("serverCode"), _F("address", 0), _F("authCertHash", 0, None), _F("client", 0, None)]
        if _v(self.version, 5):
            spec.append(_F("inMaintenanceMode", 0))
        f = _children(el, spec, "securityServer")
        owner = self._idref(f["owner"][0], "securityServer owner", members_only=True)
        assert isinstance(owner, MemberId)
        maintenance = None
        if f.get("inMaintenanceMode"):
            self.seen_features.add(5)
            mm = _children(f["inMaintenanceMode"][0], [_F("message", 0)], "inMaintenanceMode")
            maintenance = MaintenanceMode(_opt_str(mm, "message", "inMaintenanceMode"))
        hashes = tuple(_b64(h, "authCertHash") for h in f["authCertHash"])
        return SecurityServer(
            owner=owner,
            server_code=_str(f["serverCode"][0], "serverCode"),
            address=_opt_str(f, "address", "securityServer"),
            auth_cert_hashes=hashes,
            clients=tuple(self._idref(c, "securityServer client") for c in f["client"]),
            maintenance=maintenance,
        )

    def global_group(self, el: etree._Element) -> GlobalGroup:
        f = _children(el, [_F("groupCode"), _F("description"), _F("groupMember", 0, None)], "globalGroup")
        return GlobalGroup(
            code=_str(f["groupCode"][0], "groupCode"),
            description=_str(f["description"][0], "globalGroup description", required=False),
            members=tuple(_client(g, "groupMember") for g in f["groupMember"]),
        )

    def central_service(self, el: etree._Element) -> CentralService:
        f = _children(el, [_F("serviceCode"), _F("implementingService", 0)], "centralService")
        implementing = None
        if f["implementingService"]:
            try:
                implementing = service_from_xml(f["implementingService"][0])
            except IdentifierError as exc:
                raise ConfSchemaInvalid(f"implementingService: {exc}") from exc
        return CentralService(_str(f["serviceCode"][0], "serviceCode"), implementing)
