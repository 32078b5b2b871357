"""X-Road's operational-monitoring metaservices, answered by the server proxy (NOTES 8).

A central monitoring client (or the gateway's owner) reads a gateway's operational data
with ordinary signed X-Road SOAP calls to the gateway's *owner member*, service code
``getSecurityServerOperationalData`` or ``getSecurityServerHealthData``, namespace
``http://x-road.eu/xsd/op-monitoring.xsd`` (X-Road's ``op-monitoring.xsd``). As in
X-Road's proxy, the call needs no access right and is answered only when the service's
provider is this gateway's owner member; a call to another provider stays an ordinary
service call.

* ``getSecurityServerOperationalData``: ``searchCriteria{recordsFrom, recordsTo, client?}``
  and ``outputSpec{outputField*}``; the answer holds ``recordsCount``, ``records`` (a
  swaRef ``cid:`` to a gzip'd JSON ``{"records":[...]}`` attachment, as X-Road's daemon
  sends it) and ``nextRecordsFrom`` when the caller should continue. Who sees which
  records, and the limits, are :mod:`gateway.monitoring._opdata`'s.
* ``getSecurityServerHealthData``: ``filterCriteria{client?}``; per service the counts,
  the last request times and the duration and size statistics of the last period.
  X-Road answers it to any caller; sild answers only the owner and the central
  monitoring client (``access_denied`` otherwise): it names every service and its load.

Requests are read strictly (unknown elements, missing or malformed numbers refused
with ``client.invalid_request``), so a typo never reads as "no filter".
"""

from __future__ import annotations

import gzip
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from lxml import etree

from trust.errors import IdentifierError
from trust.protocol import (
    ACCESS_DENIED, ClientId, IDENTIFIERS_NS, MemberId, SOAP_ENV_NS, SoapMessage, XRoadFault, build_response,
    client_from_xml, id_to_xml, multipart_related,
)

from gateway.monitoring import (
    HealthSpread, MAX_RECORDS, OpMonitor, OpMonitoringError, RECORDS_AVAILABLE_OFFSET_SECONDS,
    STATISTICS_PERIOD_SECONDS, ServiceHealth, health_data, operational_data, xs_double,
)

if TYPE_CHECKING:
    from ._gateway_parts import GatewayParts

OPMON_NS = "http://x-road.eu/xsd/op-monitoring.xsd"
OPERATIONAL_DATA = "getSecurityServerOperationalData"
HEALTH_DATA = "getSecurityServerHealthData"
CODES = frozenset({OPERATIONAL_DATA, HEALTH_DATA})
RECORDS_CID = "operational-monitoring-data.json.gz"
"""The records attachment's Content-ID, X-Road's name for it."""
INVALID_REQUEST = "client.invalid_request"
MAX_FIELDS = 100
"""More output fields than X-Road has names for is not a request."""
EXTRA_KEY = "opmonitoring"
"""The key of :class:`OpMonitoringService` in ``GatewayParts.extra`` (set by the node)."""


def _om(local: str) -> str:
    return f"{{{OPMON_NS}}}{local}"


@dataclass
class OpMonitoringService:
    """What the two metaservices read, and their limits; one per gateway node."""

    monitor: OpMonitor
    owner: MemberId
    monitoring_client: Callable[[], ClientId | None] = lambda: None
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    limit: int = MAX_RECORDS
    offset: int = RECORDS_AVAILABLE_OFFSET_SECONDS
    period: int = STATISTICS_PERIOD_SECONDS
    now: Callable[[], float] = time.time

    def sees_everything(self, client: ClientId) -> bool:
        """The owner member and the central monitoring client (X-Road compares identifiers exactly)."""
        return client == self.owner or client == self.monitoring_client()


def service_of(parts: "GatewayParts") -> OpMonitoringService:
    found = parts.extra.get(EXTRA_KEY)
    if isinstance(found, OpMonitoringService):
        return found
    feed = parts.monitoring
    monitor = getattr(feed, "opmonitor", None)
    if monitor is None:
        raise XRoadFault("internal_error", "operational monitoring does not run on this gateway")
    service = OpMonitoringService(monitor, parts.server_id.owner, started_ms=getattr(feed, "started_ms", 0))
    parts.extra[EXTRA_KEY] = service
    return service


def opmonitoring_metaservice(parts: "GatewayParts", soap: SoapMessage) -> tuple[bytes, str] | None:
    """The answer when ``soap`` calls one of the two metaservices of this gateway's owner, else None."""
    service = soap.header.service
    if service is None or service.service_code not in CODES or service.provider != parts.server_id.owner:
        return None
    opmon = service_of(parts)
    wrapper = _wrapper(soap, service.service_code)
    if service.service_code == HEALTH_DATA:
        if not opmon.sees_everything(soap.header.client):
            raise XRoadFault(ACCESS_DENIED, f"{HEALTH_DATA} is answered to the owner of the security server and "
                             "the central monitoring client only")
        provider = _optional_client(wrapper, "filterCriteria")
        return build_response(soap, _health(opmon, provider)), "text/xml; charset=utf-8"
    return _operational(opmon, soap, wrapper)


def _wrapper(soap: SoapMessage, code: str) -> etree._Element:
    body = soap.envelope.find(f"{{{SOAP_ENV_NS}}}Body")
    wrapper = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
    if wrapper is None or wrapper.tag != _om(code):
        raise XRoadFault(INVALID_REQUEST, f"the body must be {{{OPMON_NS}}}{code}")
    return wrapper


def _children(element: etree._Element, allowed: tuple[str, ...], what: str) -> dict[str, list[etree._Element]]:
    """Element children by local name, in the schema's order; anything else refused."""
    out: dict[str, list[etree._Element]] = {name: [] for name in allowed}
    position = 0
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if etree.QName(child).namespace != OPMON_NS or name not in allowed or allowed.index(name) < position:
            raise XRoadFault(INVALID_REQUEST, f"unexpected element {etree.QName(child).localname!r} in {what}")
        position = allowed.index(name)
        out[name].append(child)
    return out


def _long(element: etree._Element | None, name: str) -> int:
    text = (element.text or "").strip() if element is not None else ""
    try:
        value = int(text)
    except ValueError:
        raise XRoadFault(INVALID_REQUEST, f"{name} must be a whole number of seconds, not {text[:30]!r}") from None
    if not -(2 ** 63) <= value < 2 ** 63:
        raise XRoadFault(INVALID_REQUEST, f"{name} is out of range")
    return value


def _client(element: etree._Element, what: str) -> ClientId:
    try:
        return client_from_xml(element)
    except IdentifierError as exc:
        raise XRoadFault(INVALID_REQUEST, f"malformed client in {what}: {exc}") from None


def _optional_client(wrapper: etree._Element, criteria: str) -> ClientId | None:
    parts = _children(wrapper, (criteria,), wrapper.tag)
    if not parts[criteria]:
        return None
    if len(parts[criteria]) > 1:
        raise XRoadFault(INVALID_REQUEST, f"{criteria} given twice")
    inner = _children(parts[criteria][0], ("client",), criteria)["client"]
    if len(inner) > 1:
        raise XRoadFault(INVALID_REQUEST, f"{criteria} names more than one client")
    return _client(inner[0], criteria) if inner else None


def _operational(opmon: OpMonitoringService, soap: SoapMessage, wrapper: etree._Element) -> tuple[bytes, str]:
    top = _children(wrapper, ("searchCriteria", "outputSpec"), OPERATIONAL_DATA)
    if len(top["searchCriteria"]) != 1 or len(top["outputSpec"]) > 1:
        raise XRoadFault(INVALID_REQUEST, "one searchCriteria and at most one outputSpec are expected")
    criteria = _children(top["searchCriteria"][0], ("recordsFrom", "recordsTo", "client"), "searchCriteria")
    if len(criteria["recordsFrom"]) != 1 or len(criteria["recordsTo"]) != 1 or len(criteria["client"]) > 1:
        raise XRoadFault(INVALID_REQUEST, "searchCriteria needs one recordsFrom, one recordsTo, at most one client")
    fields: list[str] = []
    if top["outputSpec"]:
        named = _children(top["outputSpec"][0], ("outputField",), "outputSpec")["outputField"]
        if len(named) > MAX_FIELDS:
            raise XRoadFault(INVALID_REQUEST, f"more than {MAX_FIELDS} output fields")
        fields = [(f.text or "").strip() for f in named]
    caller = soap.header.client
    try:
        found = operational_data(
            opmon.monitor, _long(criteria["recordsFrom"][0], "recordsFrom"), _long(criteria["recordsTo"][0], "recordsTo"),
            now=int(opmon.now()), requester=None if opmon.sees_everything(caller) else caller,
            provider=_client(criteria["client"][0], "searchCriteria") if criteria["client"] else None,
            fields=fields, limit=opmon.limit, offset=opmon.offset)
    except OpMonitoringError as exc:
        raise XRoadFault(INVALID_REQUEST, str(exc)) from None
    body = etree.Element(_om(f"{OPERATIONAL_DATA}Response"), nsmap={"om": OPMON_NS})
    etree.SubElement(body, _om("recordsCount")).text = str(len(found.records))
    etree.SubElement(body, _om("records")).text = f"cid:{RECORDS_CID}"
    if found.next_records_from is not None:
        etree.SubElement(body, _om("nextRecordsFrom")).text = str(found.next_records_from)
    headers = (("Content-Type", "application/gzip"), ("Content-Transfer-Encoding", "binary"),
               ("Content-ID", f"<{RECORDS_CID}>"))
    ctype, data = multipart_related(build_response(soap, body), [(headers, gzip.compress(found.payload(), mtime=0))],
                                    boundary=f"xroad{uuid.uuid4().hex}")
    return data, ctype


def _health(opmon: OpMonitoringService, provider: ClientId | None) -> etree._Element:
    body = etree.Element(_om(f"{HEALTH_DATA}Response"), nsmap={"om": OPMON_NS, "id": IDENTIFIERS_NS})
    etree.SubElement(body, _om("monitoringStartupTimestamp")).text = str(opmon.started_ms)
    etree.SubElement(body, _om("statisticsPeriodSeconds")).text = str(opmon.period)
    events = etree.SubElement(body, _om("servicesEvents"))
    for health in health_data(opmon.monitor, now=int(opmon.now()), provider=provider, period=opmon.period):
        _service_events(events, health)
    return body


def _service_events(parent: etree._Element, health: ServiceHealth) -> None:
    element = etree.SubElement(parent, _om("serviceEvents"))
    id_to_xml(health.service, _om("service"), element)
    for name, value in (("lastSuccessfulRequestTimestamp", health.last_successful),
                        ("lastUnsuccessfulRequestTimestamp", health.last_unsuccessful),
                        ("serviceType", health.service_type)):
        if value is not None:
            etree.SubElement(element, _om(name)).text = str(value)
    stats = etree.SubElement(element, _om("lastPeriodStatistics"))
    etree.SubElement(stats, _om("successfulRequestCount")).text = str(health.successful)
    etree.SubElement(stats, _om("unsuccessfulRequestCount")).text = str(health.unsuccessful)
    if health.successful:  # X-Road gives the figures of successful requests only
        _spread(stats, "request", "Duration", health.duration)
        _spread(stats, "request", "Size", health.request_size)
        _spread(stats, "response", "Size", health.response_size)


def _spread(stats: etree._Element, prefix: str, what: str, spread: HealthSpread) -> None:
    figures = spread.figures()
    if figures is None:
        return
    low, mean, high, deviation = figures
    etree.SubElement(stats, _om(f"{prefix}Min{what}")).text = str(low)
    etree.SubElement(stats, _om(f"{prefix}Average{what}")).text = xs_double(mean)
    etree.SubElement(stats, _om(f"{prefix}Max{what}")).text = str(high)
    etree.SubElement(stats, _om(f"{prefix}{what}StdDev")).text = xs_double(deviation)
