"""X-Road's SOAP test queries posted to a running client proxy, exactly as an IS would.

The message layer already maps every manifest case (``test_soap_vectors.py``); here the
real gateway answers them over HTTP: the malformed ones that X-Road refuses at the
client proxy get X-Road's fault code, none of the queries crashes a worker or leaks
internals, and the gateway keeps serving afterwards.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from lxml import etree

from tests.support.conformance import SOAP_MANIFEST, XROAD
from tests.support.soap_scenarios import SCENARIOS, case_key, default_type, fresh_ids

from tests.gateway._world import TAX

QUERIES = sorted(p.name for p in (XROAD / "soap" / "queries").glob("*.query") if p.stat().st_size)


def _client_cases() -> list:
    import json

    manifest = json.loads(SOAP_MANIFEST.read_text())
    cases = []
    for case in manifest["cases"]:
        scenario = SCENARIOS.get(case_key(case))
        if scenario is not None and scenario.kind == "client" and case["fault_code"]:
            cases.append(pytest.param(case, scenario, id=case_key(case)))
    return cases


def _post(world, data: bytes, content_type: str) -> httpx.Response:
    url = world.gateway_of(TAX).is_url
    return httpx.post(url + "/", content=data, headers={"Content-Type": content_type}, timeout=30)


def _faultcode(response: httpx.Response) -> str:
    root = etree.fromstring(response.content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    return (root.findtext(".//faultcode") or "").strip()


@pytest.mark.parametrize(("case", "scenario"), _client_cases())
def test_malformed_queries_get_x_roads_fault_code(world, case, scenario):
    data = fresh_ids((XROAD / "soap" / "queries" / case["file"]).read_bytes(), f"sild-{uuid.uuid4()}")
    response = _post(world, data, scenario.request_type or default_type(data))
    assert response.status_code == 500, response.text[:500]
    assert _faultcode(response) == case["fault_code"]


def test_no_query_crashes_the_gateway_or_leaks_internals(world):
    queries = XROAD / "soap" / "queries"
    for name in QUERIES:
        data = fresh_ids((queries / name).read_bytes(), f"sild-{uuid.uuid4()}")
        response = _post(world, data, default_type(data))
        assert response.status_code in (200, 400, 500), (name, response.status_code)
        body = response.text
        for leak in ("Traceback", 'File "', str(Path(__file__).resolve().parents[3]), "sqlalchemy"):
            assert leak not in body, (name, leak)
        if response.status_code != 200:
            code = _faultcode(response)
            assert code and "." in code and " " not in code, (name, code)
    alive = httpx.get(world.gateway_of(TAX).is_url + "/listClients", timeout=30)
    assert alive.status_code == 200
