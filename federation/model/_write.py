"""Writing the parameter XML of global configuration (version 6 by default).

The counterpart of :mod:`federation.model._read`; shared parameters are written by
:mod:`federation.model._write_shared`, with the helpers here:
children of ``conf`` unqualified, identifier fields qualified (``id:`` prefix),
UTF-8 with an XML declaration. ``version=2..5`` writes the older shapes and omits
what those versions lack; the output of every version validates against X-Road's
schema of that version (the tests check it with X-Road's XSDs).
"""

from __future__ import annotations

import base64
import datetime as dt

from lxml import etree

from trust.protocol import IDENTIFIERS_NS, id_to_xml

from ._model import CURRENT_VERSION, SUPPORTED_VERSIONS, XROAD_NS
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
