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

Writing produces version 6 by default (``version=3..5`` writes the older shapes,
dropping the fields those versions lack; ``version=2`` likewise, without ``source``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from typing import Sequence

from lxml import etree

from trust.errors import IdentifierError, XmlError
from trust.protocol import IDENTIFIERS_NS, ClientId, MemberId, SubsystemId, client_from_xml, service_from_xml
from trust.infra import parse_xml

from ._model import (
    SUPPORTED_VERSIONS, XROAD_NS, AcmeServer, AnchorSource, ApprovedCaInfo, ApprovedTsaInfo, CaInfo,
    CentralService, ConfigurationAnchor, ConfigurationSource, FetchIntervalParameters, GlobalGroup,
    MaintenanceMode, ManagementService, Member, MemberClass, MonitoringParameters, NextUpdateParameters,
    OcspInfo, PrivateParameters, SecurityServer, SharedParameters, Subsystem,
)
from ._errors import ConfSchemaInvalid

_CONF = f"{{{XROAD_NS}}}conf"
MAX_PARAMETERS_BYTES = 64 * 1024 * 1024
_NCNAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_WS = re.compile(rb"\s+")


# -- a small structural schema -------------------------------------------------


@dataclass(frozen=True)
class _F:
    name: str
    min: int = 1
    max: int | None = 1  # None: unbounded


def _children(el: etree._Element, spec: Sequence[_F], what: str, *, any_tail: bool = False) -> dict[str, list[etree._Element]]:
    """Check ``el``'s children against a sequence ``spec``; return them by name."""
    found: dict[str, list[etree._Element]] = {f.name: [] for f in spec}
    index = 0
    in_tail = False
    if el.text and el.text.strip():
        raise ConfSchemaInvalid(f"{what}: unexpected text {el.text.strip()[:40]!r}")
    for child in el:
        if child.tail and child.tail.strip():
            raise ConfSchemaInvalid(f"{what}: unexpected text {child.tail.strip()[:40]!r}")
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        qname = etree.QName(child)
        name = qname.localname
        position = index
        while position < len(spec) and spec[position].name != name:
            position += 1
        if in_tail or position == len(spec) or qname.namespace not in (None, XROAD_NS):
            if any_tail and (in_tail or name not in found):
                in_tail = True  # <any processContents="lax"/> at the end of the sequence
                continue
            if name in found:
                raise ConfSchemaInvalid(f"{what}: element <{name}> is out of order")
            raise ConfSchemaInvalid(f"{what}: unexpected element <{name}>")
        index = position
        found[name].append(child)
        limit = spec[position].max
        if limit is not None and len(found[name]) > limit:
            raise ConfSchemaInvalid(f"{what}: element <{name}> appears more than {limit} time(s)")
    for f in spec:
        if len(found[f.name]) < f.min:
            raise ConfSchemaInvalid(f"{what}: required element <{f.name}> is missing")
    return found


def _leaf(el: etree._Element, what: str) -> str:
    for child in el:
        if isinstance(child.tag, str):
            raise ConfSchemaInvalid(f"{what}: <{etree.QName(child).localname}> must hold text only")
    return "".join(str(t) for t in el.itertext())


def _str(el: etree._Element, what: str, *, required: bool = True) -> str:
    value = _leaf(el, what).strip()
    if required and not value:
        raise ConfSchemaInvalid(f"{what} is empty")
    return value


def _opt_str(found: dict[str, list[etree._Element]], name: str, what: str) -> str | None:
    items = found.get(name) or []
    return _str(items[0], f"{what} {name}", required=False) if items else None


def _int(el: etree._Element, what: str) -> int:
    text = _leaf(el, what).strip()
    if not _INTEGER.match(text):
        raise ConfSchemaInvalid(f"{what} must be an integer, got {text[:40]!r}")
    return int(text)


def _bool(el: etree._Element, what: str) -> bool:
    text = _leaf(el, what).strip()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ConfSchemaInvalid(f"{what} must be a boolean, got {text[:40]!r}")


def _b64(el: etree._Element, what: str) -> bytes:
    raw = _WS.sub(b"", _leaf(el, what).encode("ascii", "replace"))
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfSchemaInvalid(f"{what} is not valid base64: {exc}") from exc


def _cert(el: etree._Element, what: str) -> bytes:
    """base64Binary certificate; base64 of PEM text (seen in X-Road's own output) becomes DER."""
    data = _b64(el, what)
    if not data:
        raise ConfSchemaInvalid(f"{what} is empty")
    if data.lstrip().startswith(b"-----BEGIN"):
        lines = [line.strip() for line in data.decode("ascii", "replace").splitlines()]
        body = "".join(line for line in lines if line and not line.startswith("-----"))
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfSchemaInvalid(f"{what} holds PEM text that is not valid base64") from exc
    return data


def _datetime(el: etree._Element, what: str) -> dt.datetime:
    text = _leaf(el, what).strip()
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfSchemaInvalid(f"{what} is not an xs:dateTime: {text[:40]!r}") from exc
    # xs:dateTime without a zone is "local" in XSD; X-Road always writes Z. Read it as UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def _enum(el: etree._Element, what: str, allowed: Sequence[str]) -> str:
    value = _str(el, what)
    if value not in allowed:
        raise ConfSchemaInvalid(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


def _client(el: etree._Element, what: str) -> ClientId:
    try:
        return client_from_xml(el)
    except IdentifierError as exc:
        # X-Road's own files have MEMBER identifiers that carry a subsystemCode; its
        # reader builds a subsystem from the fields, and so does sild.
        fields = {etree.QName(c).localname: (c.text or "").strip() for c in el if isinstance(c.tag, str)}
        object_type = (el.get(f"{{{IDENTIFIERS_NS}}}objectType") or "").strip()
        if object_type == "MEMBER" and set(fields) == {"xRoadInstance", "memberClass", "memberCode", "subsystemCode"}:
            try:
                return SubsystemId(fields["xRoadInstance"], fields["memberClass"], fields["memberCode"], fields["subsystemCode"])
            except IdentifierError:
                pass
        raise ConfSchemaInvalid(f"{what}: {exc}") from exc


def _root(data: bytes, what: str) -> etree._Element:
    try:
        root = parse_xml(data, max_bytes=MAX_PARAMETERS_BYTES, what=what)
    except XmlError as exc:
        raise ConfSchemaInvalid(str(exc)) from exc
    if root.tag != _CONF:
        raise ConfSchemaInvalid(f"{what}: root element must be {{{XROAD_NS}}}conf, got {root.tag}")
    return root


def _check_version(version: int | None) -> None:
    if version is not None and version not in SUPPORTED_VERSIONS:
        raise ConfSchemaInvalid(f"configuration version {version} is not supported (2 to 6 are)")


# -- shared parameters: reading ---------------------------------------------------


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


def _v(version: int | None, minimum: int) -> bool:
    return version is None or version >= minimum


def parse_shared_parameters(data: bytes, *, version: int | None = None) -> SharedParameters:
    """Read shared parameters of ``version`` (2..6), or detect it when ``None``.

    With ``version=None`` the file is checked against the union of all versions and
    the model's ``version`` is the lowest version whose schema admits it. Raises
    :class:`ConfSchemaInvalid` with the first problem found.
    """
    _check_version(version)
    root = _root(data, "shared parameters")
    top = _children(root, _shared_root_spec(version), "shared parameters", any_tail=_v(version, 3))
    seen_features = {2}
    instance = _str(top["instanceIdentifier"][0], "instanceIdentifier")

    sources = []
    for el in top.get("source", []):
        seen_features.add(3)
        f = _children(el, [_F("address"), _F("internalVerificationCert", 0, None), _F("externalVerificationCert", 0, None)], "source")
        sources.append(
            ConfigurationSource(
                address=_str(f["address"][0], "source address"),
                internal_certs=tuple(_cert(c, "internalVerificationCert") for c in f["internalVerificationCert"]),
                external_certs=tuple(_cert(c, "externalVerificationCert") for c in f["externalVerificationCert"]),
            )
        )

    def ocsp_info(el: etree._Element) -> OcspInfo:
        spec = [_F("url"), _F("cert", 0)]
        if _v(version, 6):
            spec.append(_F("costType", 0))
        f = _children(el, spec, "ocsp")
        cost = None
        if f.get("costType"):
            seen_features.add(6)
            cost = _enum(f["costType"][0], "costType", ("FREE", "PAID", "UNDEFINED"))
        return OcspInfo(
            url=_str(f["url"][0], "ocsp url"),
            cert=_cert(f["cert"][0], "ocsp cert") if f["cert"] else None,
            cost_type=cost,
        )

    def ca_info(el: etree._Element, what: str) -> CaInfo:
        f = _children(el, [_F("cert"), _F("ocsp", 0, None)], what)
        return CaInfo(cert=_cert(f["cert"][0], f"{what} cert"), ocsp=tuple(ocsp_info(o) for o in f["ocsp"]))

    cas = []
    for el in top["approvedCA"]:
        spec = [_F("name"), _F("authenticationOnly", 0), _F("topCA"), _F("intermediateCA", 0, None), _F("certificateProfileInfo")]
        if _v(version, 6):
            spec.append(_F("defaultCsrFormat", 0))
        if _v(version, 3):
            spec.append(_F("acmeServer", 0))
        f = _children(el, spec, "approvedCA")
        name = _str(f["name"][0], "approvedCA name")
        acme = None
        if f.get("acmeServer"):
            seen_features.add(3)
            # The profile ids arrived in version 4, but X-Road's own version-3 output
            # (served/V3 in the vectors) carries them too; accept them from version 3 on.
            aspec = [
                _F("directoryURL"),
                _F("ipAddress", 0),
                _F("authenticationCertificateProfileId", 0),
                _F("signingCertificateProfileId", 0),
            ]
            a = _children(f["acmeServer"][0], aspec, f"acmeServer of {name}")
            if a.get("authenticationCertificateProfileId") or a.get("signingCertificateProfileId"):
                seen_features.add(4)
            acme = AcmeServer(
                directory_url=_str(a["directoryURL"][0], "directoryURL"),
                ip_address=_opt_str(a, "ipAddress", "acmeServer"),
                authentication_certificate_profile_id=_opt_str(a, "authenticationCertificateProfileId", "acmeServer"),
                signing_certificate_profile_id=_opt_str(a, "signingCertificateProfileId", "acmeServer"),
            )
        csr = None
        if f.get("defaultCsrFormat"):
            seen_features.add(6)
            csr = _enum(f["defaultCsrFormat"][0], "defaultCsrFormat", ("PEM", "DER"))
        cas.append(
            ApprovedCaInfo(
                name=name,
                authentication_only=_bool(f["authenticationOnly"][0], "authenticationOnly") if f["authenticationOnly"] else None,
                top_ca=ca_info(f["topCA"][0], f"topCA of {name}"),
                intermediate_cas=tuple(ca_info(i, f"intermediateCA of {name}") for i in f["intermediateCA"]),
                certificate_profile_info=_str(f["certificateProfileInfo"][0], "certificateProfileInfo"),
                default_csr_format=csr,
                acme_server=acme,
            )
        )

    tsas = []
    for el in top["approvedTSA"]:
        spec = [_F("name"), _F("url"), _F("cert")]
        if _v(version, 6):
            spec.append(_F("costType", 0))
        f = _children(el, spec, "approvedTSA")
        cost = None
        if f.get("costType"):
            seen_features.add(6)
            cost = _enum(f["costType"][0], "costType", ("FREE", "PAID", "UNDEFINED"))
        tsas.append(
            ApprovedTsaInfo(
                name=_str(f["name"][0], "approvedTSA name"),
                url=_str(f["url"][0], "approvedTSA url"),
                cert=_cert(f["cert"][0], "approvedTSA cert"),
                cost_type=cost,
            )
        )

    def member_class(el: etree._Element) -> MemberClass:
        f = _children(el, [_F("code"), _F("description")], "memberClass")
        return MemberClass(_str(f["code"][0], "memberClass code"), _str(f["description"][0], "memberClass description", required=False))

    ids: dict[str, ClientId] = {}
    member_ids: set[str] = set()

    def register_id(el: etree._Element, value: ClientId) -> None:
        raw = el.get("id")
        if raw is None:
            return
        key = raw.strip()
        if not _NCNAME.match(key):
            raise ConfSchemaInvalid(f"id {raw!r} is not a valid xs:ID")
        if key in ids:
            raise ConfSchemaInvalid(f"id {key!r} is used twice")
        ids[key] = value

    members = []
    for el in top["member"]:
        f = _children(el, [_F("memberClass"), _F("memberCode"), _F("name"), _F("subsystem", 0, None)], "member")
        mclass = member_class(f["memberClass"][0])
        code = _str(f["memberCode"][0], "memberCode")
        mid = MemberId(instance, mclass.code, code) if _safe_id(instance, mclass.code, code) else None
        if mid is None:
            raise ConfSchemaInvalid(f"member {mclass.code}/{code} has an invalid identifier")
        register_id(el, mid)
        if el.get("id") is not None:
            member_ids.add(el.get("id", "").strip())
        subsystems = []
        for sel in f["subsystem"]:
            sspec = [_F("subsystemCode")]
            if _v(version, 5):
                sspec.append(_F("subsystemName", 0))
            s = _children(sel, sspec, f"subsystem of {code}")
            sname = None
            if s.get("subsystemName"):
                seen_features.add(5)
                sname = _str(s["subsystemName"][0], "subsystemName", required=False)
            sub = Subsystem(_str(s["subsystemCode"][0], "subsystemCode"), sname)
            try:
                register_id(sel, SubsystemId(instance, mclass.code, code, sub.code))
            except IdentifierError as exc:
                raise ConfSchemaInvalid(f"subsystem {sub.code}: {exc}") from exc
            subsystems.append(sub)
        members.append(Member(mclass, code, _str(f["name"][0], "member name", required=False), tuple(subsystems)))

    def idref(el: etree._Element, what: str, *, members_only: bool = False) -> ClientId:
        key = _str(el, what)
        if key not in ids:
            raise ConfSchemaInvalid(f"{what} refers to id {key!r}, which no member or subsystem has")
        if members_only and key not in member_ids:
            raise ConfSchemaInvalid(f"{what} {key!r} must refer to a member, not a subsystem")
        return ids[key]

    servers = []
    for el in top["securityServer"]:
        spec = [_F("owner"), _F("serverCode"), _F("address", 0), _F("authCertHash", 0, None), _F("client", 0, None)]
        if _v(version, 5):
            spec.append(_F("inMaintenanceMode", 0))
        f = _children(el, spec, "securityServer")
        owner = idref(f["owner"][0], "securityServer owner", members_only=True)
        assert isinstance(owner, MemberId)
        maintenance = None
        if f.get("inMaintenanceMode"):
            seen_features.add(5)
            mm = _children(f["inMaintenanceMode"][0], [_F("message", 0)], "inMaintenanceMode")
            maintenance = MaintenanceMode(_opt_str(mm, "message", "inMaintenanceMode"))
        hashes = tuple(_b64(h, "authCertHash") for h in f["authCertHash"])
        servers.append(
            SecurityServer(
                owner=owner,
                server_code=_str(f["serverCode"][0], "serverCode"),
                address=_opt_str(f, "address", "securityServer"),
                auth_cert_hashes=hashes,
                clients=tuple(idref(c, "securityServer client") for c in f["client"]),
                maintenance=maintenance,
            )
        )

    groups = []
    for el in top["globalGroup"]:
        f = _children(el, [_F("groupCode"), _F("description"), _F("groupMember", 0, None)], "globalGroup")
        groups.append(
            GlobalGroup(
                code=_str(f["groupCode"][0], "groupCode"),
                description=_str(f["description"][0], "globalGroup description", required=False),
                members=tuple(_client(g, "groupMember") for g in f["groupMember"]),
            )
        )

    central = []
    for el in top["centralService"]:
        f = _children(el, [_F("serviceCode"), _F("implementingService", 0)], "centralService")
        implementing = None
        if f["implementingService"]:
            try:
                implementing = service_from_xml(f["implementingService"][0])
            except IdentifierError as exc:
                raise ConfSchemaInvalid(f"implementingService: {exc}") from exc
        central.append(CentralService(_str(f["serviceCode"][0], "serviceCode"), implementing))

    gs = _children(top["globalSettings"][0], [_F("memberClass", 0, None), _F("ocspFreshnessSeconds")], "globalSettings")
    freshness = _int(gs["ocspFreshnessSeconds"][0], "ocspFreshnessSeconds")
    if freshness <= 0:
        raise ConfSchemaInvalid("ocspFreshnessSeconds must be positive")

    detected = version if version is not None else max(seen_features)
    return SharedParameters(
        instance=instance,
        sources=tuple(sources),
        approved_cas=tuple(cas),
        approved_tsas=tuple(tsas),
        members=tuple(members),
        security_servers=tuple(servers),
        global_groups=tuple(groups),
        central_services=tuple(central),
        member_classes=tuple(member_class(m) for m in gs["memberClass"]),
        ocsp_freshness_seconds=freshness,
        version=detected,
    )


def _safe_id(*parts: str) -> bool:
    try:
        MemberId(*parts)
    except IdentifierError:
        return False
    return True


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


# Writers live in model_write; re-exported here so callers import one module.
from ._write import (
    anchor_element, write_fetch_interval_parameters, write_monitoring_parameters,
    write_next_update_parameters, write_private_parameters, write_shared_parameters,
)

__all__ = [
    "XROAD_NS",
    "anchor_element",
    "parse_anchor_element",
    "parse_fetch_interval_parameters",
    "parse_monitoring_parameters",
    "parse_next_update_parameters",
    "parse_private_parameters",
    "parse_shared_parameters",
    "write_fetch_interval_parameters",
    "write_monitoring_parameters",
    "write_next_update_parameters",
    "write_private_parameters",
    "write_shared_parameters",
]
