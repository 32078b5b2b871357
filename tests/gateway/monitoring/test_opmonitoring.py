"""X-Road's op-monitoring metaservices, called through real gateways like a monitoring client would.

The world's Tax Board (EE) calls the Finnish tax administration's service over SOAP and
REST; then ``getSecurityServerOperationalData`` and ``getSecurityServerHealthData`` of
that provider's gateway are called as ordinary signed X-Road requests: by its owner, by
the central monitoring client the configuration names, by a client that sees only its
own records, and by one that is refused. Answers are validated against X-Road's own
``op-monitoring.xsd`` (from the conformance vectors: skipped without them).
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from lxml import etree

from federation.model._private import MonitoringParameters
from federation.model._write import write_monitoring_parameters
from gateway.node import GatewayNode
from trust.protocol import (
    MemberId, SecurityServerId, ServiceId, SoapFaultMessage, SoapMessage, SubsystemId, build_request, id_to_xml,
    parse_soap,
)

from tests.gateway._world import TAX, VERO

OM = "http://x-road.eu/xsd/op-monitoring.xsd"
PROVIDER_GW = "FI/GOV/0245437-2/gw1"
OWNER = MemberId("FI", "GOV", "0245437-2")
SERVER = SecurityServerId("FI", "GOV", "0245437-2", "gw1")
DVV = SubsystemId("FI", "GOV", "0242431-1", "dvv")
VERO_SOAP = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
SWAREF = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://ws-i.org/profiles/basic/1.1/xsd">
  <xs:simpleType name="swaRef"><xs:restriction base="xs:anyURI"/></xs:simpleType>
</xs:schema>"""


class _SwaRef(etree.Resolver):
    """WS-I's one-type ``swaref.xsd``, which op-monitoring.xsd imports and the vectors do not carry."""

    def resolve(self, url: str, pubid: str, context: Any) -> Any:  # noqa: ANN401 - lxml's API
        if url.endswith("swaref.xsd"):
            return self.resolve_string(SWAREF, context)
        return None


@pytest.fixture(scope="module")
def schema(xroad: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    parser.resolvers.add(_SwaRef())
    return etree.XMLSchema(etree.parse(str(xroad / "schemas" / "op-monitoring.xsd"), parser))


def _om(local: str) -> str:
    return f"{{{OM}}}{local}"


def _op_request(records_from: int, records_to: int, client: SubsystemId | None = None,
                fields: tuple[str, ...] = ()) -> etree._Element:
    body = etree.Element(_om("getSecurityServerOperationalData"), nsmap={"om": OM})
    criteria = etree.SubElement(body, _om("searchCriteria"))
    etree.SubElement(criteria, _om("recordsFrom")).text = str(records_from)
    etree.SubElement(criteria, _om("recordsTo")).text = str(records_to)
    if client is not None:
        id_to_xml(client, _om("client"), criteria)
    if fields:
        spec = etree.SubElement(body, _om("outputSpec"))
        for name in fields:
            etree.SubElement(spec, _om("outputField")).text = name
    return body


def _call(node: GatewayNode, client: Any, code: str, body: etree._Element) -> SoapMessage | SoapFaultMessage:
    """One SOAP call from ``client``'s IS to ``node``'s IS port, to the provider gateway's owner."""
    msg = build_request(client=client, service=ServiceId("FI", "GOV", "0245437-2", None, code),
                        query_id=str(uuid.uuid4()), body=body, security_server=SERVER)
    resp = httpx.post(node.is_url + "/", content=msg, headers={"Content-Type": "text/xml"}, timeout=30)
    return parse_soap(resp.content, resp.headers["content-type"], role="response")


def _answer(message: SoapMessage | SoapFaultMessage, schema: etree.XMLSchema) -> etree._Element:
    assert isinstance(message, SoapMessage), getattr(message, "faultstring", message)
    body = message.envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert body is not None
    answer = body[0]
    assert schema.validate(etree.fromstring(etree.tostring(answer))), schema.error_log
    return answer


def _records(message: SoapMessage | SoapFaultMessage, schema: etree.XMLSchema) -> tuple[etree._Element, list[dict]]:
    answer = _answer(message, schema)
    assert isinstance(message, SoapMessage)
    assert answer.findtext(_om("records")) == "cid:operational-monitoring-data.json.gz"
    (attachment,) = message.attachments
    assert attachment.content_type == "application/gzip"
    assert attachment.content_id in ("operational-monitoring-data.json.gz", "<operational-monitoring-data.json.gz>")
    records = json.loads(gzip.decompress(attachment.read()))["records"]
    assert int(answer.findtext(_om("recordsCount")) or -1) == len(records)
    return answer, records


@pytest.fixture(scope="module")
def exchanged(world) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Two exchanges Tax Board -> Vero (SOAP and REST), stored and old enough to be served."""
    consumer, provider = world.gateway_of(TAX), world.gateways[PROVIDER_GW]
    provider.serverconf.add_client(OWNER, state="REGISTERED")  # the owner calls from its own gateway
    body = etree.Element("{http://vero.sandbox.sild.eu/producer}getTaxRecord")
    etree.SubElement(body, "{http://vero.sandbox.sild.eu/producer}personCode").text = "010190-123M"
    started = int(time.time())
    soap = httpx.post(consumer.is_url + "/", content=build_request(client=TAX, service=VERO_SOAP,
                      query_id=str(uuid.uuid4()), body=body), headers={"Content-Type": "text/xml"}, timeout=30)
    assert soap.status_code == 200, soap.text
    rest = httpx.get(consumer.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert rest.status_code == 200, rest.text
    consumer.monitoring.flush()
    provider.monitoring.flush()
    time.sleep(3.2)  # records become readable RECORDS_AVAILABLE_OFFSET_SECONDS after they were stored
    yield {"from": started - 1, "rest_id": rest.headers["X-Road-Id"], "consumer": consumer, "provider": provider}


def _tax_records(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("serviceCode") in ("getTaxRecord", "income")]


@pytest.mark.conformance(area="opmonitoring", vector="schemas/op-monitoring.xsd")
def test_the_owner_reads_every_record_schema_valid(world, exchanged, schema) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time())
    answer, records = _records(_call(exchanged["provider"], OWNER, "getSecurityServerOperationalData",
                                     _op_request(exchanged["from"], now + 3600)), schema)
    mine = _tax_records(records)
    assert {r["serviceCode"] for r in mine} == {"getTaxRecord", "income"}
    assert all(r["securityServerType"] == "Producer" and r["clientSubsystemCode"] == "tax" for r in mine)
    # recordsTo in the future: cut to what is complete, and the answer says where to continue
    assert now - 4 <= int(answer.findtext(_om("nextRecordsFrom")) or 0) <= now + 1


@pytest.mark.conformance(area="opmonitoring", vector="schemas/op-monitoring.xsd")
def test_rest_records_are_complete_on_both_sides(world, exchanged, schema) -> None:  # type: ignore[no-untyped-def]
    _, records = _records(_call(exchanged["provider"], OWNER, "getSecurityServerOperationalData",
                                _op_request(exchanged["from"], int(time.time()))), schema)
    producer = next(r for r in records if r.get("messageId") == exchanged["rest_id"])
    now = int(time.time())
    consumer = next(r for r in exchanged["consumer"].opmonitor.query(exchanged["from"], now).records
                    if r.get("messageId") == exchanged["rest_id"])
    for record in (producer, consumer):
        assert record["serviceType"] == "REST" and record["responseSize"] > 0
        assert record["requestInTs"] <= record["requestOutTs"] <= record["responseInTs"] <= record["responseOutTs"]
    assert consumer["serviceSecurityServerAddress"]


def test_output_fields_and_partner_filter(world, exchanged, schema) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time())
    _, records = _records(_call(exchanged["provider"], OWNER, "getSecurityServerOperationalData",
                                _op_request(exchanged["from"], now - 3, VERO, ("serviceCode", "succeeded"))), schema)
    assert records and all(set(r) == {"serviceCode", "succeeded"} for r in records)
    assert {r["serviceCode"] for r in records} == {"getTaxRecord", "income"}  # VERO is the provider of both
    _, none = _records(_call(exchanged["provider"], OWNER, "getSecurityServerOperationalData",
                             _op_request(exchanged["from"], now - 3, TAX)), schema)
    assert none == []  # TAX provides nothing here: X-Road filters on the service provider


def test_another_client_reads_only_its_own_records(world, exchanged, schema) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time())
    _, tax_view = _records(_call(exchanged["consumer"], TAX, "getSecurityServerOperationalData",
                                 _op_request(exchanged["from"], now - 3)), schema)
    assert len(_tax_records(tax_view)) == 2
    assert all(TAX.subsystem_code in (r.get("clientSubsystemCode"), r.get("serviceSubsystemCode")) for r in tax_view)
    dvv_gateway = world.gateway_of(DVV)
    _, dvv_view = _records(_call(dvv_gateway, DVV, "getSecurityServerOperationalData",
                                 _op_request(exchanged["from"], now - 3)), schema)
    assert _tax_records(dvv_view) == []


def test_the_central_monitoring_client_of_the_configuration_reads_everything(world, exchanged, schema) -> None:  # type: ignore[no-untyped-def]
    provider = exchanged["provider"]
    part = provider.directory / "conf" / "FI" / "monitoring-params.xml"  # where the configuration client stores it
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(write_monitoring_parameters(MonitoringParameters(DVV)))
    try:
        now = int(time.time())
        _, records = _records(_call(world.gateway_of(DVV), DVV, "getSecurityServerOperationalData",
                                    _op_request(exchanged["from"], now - 3)), schema)
        assert len(_tax_records(records)) == 2  # no restart: the part is read when it changes
        health = _answer(_call(world.gateway_of(DVV), DVV, "getSecurityServerHealthData",
                               etree.Element(_om("getSecurityServerHealthData"))), schema)
        assert health.find(f"{_om('servicesEvents')}/{_om('serviceEvents')}") is not None
    finally:
        part.unlink()


@pytest.mark.conformance(area="opmonitoring", vector="schemas/op-monitoring.xsd")
def test_health_data_per_service(world, exchanged, schema) -> None:  # type: ignore[no-untyped-def]
    answer = _answer(_call(exchanged["provider"], OWNER, "getSecurityServerHealthData",
                           etree.Element(_om("getSecurityServerHealthData"))), schema)
    assert int(answer.findtext(_om("statisticsPeriodSeconds")) or 0) == 600
    assert 0 < int(answer.findtext(_om("monitoringStartupTimestamp")) or 0) <= time.time() * 1000
    events = {e.findtext(f"{_om('service')}/{{http://x-road.eu/xsd/identifiers}}serviceCode"): e
              for e in answer.iter(_om("serviceEvents"))}
    soap_events = events["getTaxRecord"]
    assert soap_events.findtext(_om("serviceType")) == "WSDL"
    stats = soap_events.find(_om("lastPeriodStatistics"))
    assert stats is not None and int(stats.findtext(_om("successfulRequestCount")) or 0) >= 1
    low, high = (int(stats.findtext(_om(n)) or -1) for n in ("requestMinDuration", "requestMaxDuration"))
    assert 0 <= low <= float(stats.findtext(_om("requestAverageDuration")) or -1) <= high
    assert int(stats.findtext(_om("responseMinSize")) or 0) > 0
    assert int(soap_events.findtext(_om("lastSuccessfulRequestTimestamp")) or 0) > 0
    assert "income" in events


def test_health_data_is_refused_to_other_clients(world, exchanged) -> None:  # type: ignore[no-untyped-def]
    refused = _call(exchanged["consumer"], TAX, "getSecurityServerHealthData",
                    etree.Element(_om("getSecurityServerHealthData")))
    assert isinstance(refused, SoapFaultMessage)
    assert refused.faultcode == "server.serverproxy.access_denied"


@pytest.mark.parametrize("criteria, words", [
    ((20, 10), "earlier than"),
    ((4_000_000_000, 4_000_000_001), "not available"),
])
def test_bad_search_criteria_are_client_errors(world, exchanged, criteria, words) -> None:  # type: ignore[no-untyped-def]
    refused = _call(exchanged["provider"], OWNER, "getSecurityServerOperationalData", _op_request(*criteria))
    assert isinstance(refused, SoapFaultMessage)
    assert refused.faultcode == "client.invalid_request" and words in refused.faultstring


def test_a_misspelt_criterion_is_refused_not_ignored(world, exchanged) -> None:  # type: ignore[no-untyped-def]
    body = _op_request(0, 10)
    etree.SubElement(body[0], _om("recordsFromm")).text = "5"
    refused = _call(exchanged["provider"], OWNER, "getSecurityServerOperationalData", body)
    assert isinstance(refused, SoapFaultMessage) and "recordsFromm" in refused.faultstring
