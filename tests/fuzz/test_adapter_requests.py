"""What reaches an adapter: X-Road SOAP requests and REST calls, mapped onto its operations.

Seeds are requests the adapter tests build (``tests/adapters/xroad_messages``) for the
sandbox's vero and population adapters. Every request must end in an answer or a
``client.adapter.*``/``server.adapter.*`` fault of its own, never in the catch-all
``server.adapter.internal_error`` that stands for a bug. The backend URL goes nowhere
(port 9 on loopback refuses at once), so well-formed requests end in
``backend_unreachable`` after the whole request side of the pipeline ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given, strategies as st
from lxml import etree

from adapters.describe import json_to_xml
from adapters.provider import ProviderAdapter
from adapters.sandbox_backends import load_sandbox_definition
from adapters.soap import parse_request

from tests.adapters.xroad_messages import (
    POPULATION_SERVICE, VERO_SERVICE, fault_code, get_person, get_tax_record, xroad_request,
)
from tests.fuzz.support import Seeds, answers, mutated, mutated_xml

SEEDS = Seeds("adapter requests", [
    xroad_request(VERO_SERVICE, get_tax_record("010190-123A", 2024), message_id="fuzz-1", issue="i"),
    xroad_request(VERO_SERVICE, get_tax_record("010190-123A")),
    xroad_request(POPULATION_SERVICE, get_person("39001011237"), user_id=None),
])
INTERNAL = "server.adapter.internal_error"


@pytest.fixture(scope="module")
def adapters() -> Iterator[dict[str, ProviderAdapter]]:
    made = {name: ProviderAdapter(load_sandbox_definition(name, "http://127.0.0.1:9/")) for name in ("vero",)}
    try:
        yield made
    finally:
        for adapter in made.values():
            adapter.close()


@given(mutated_xml(SEEDS) | mutated(SEEDS))
def test_soap_requests_parse_or_answer_an_adapter_fault(data: bytes) -> None:
    answers(parse_request, data)


@given(data=st.data())
def test_soap_requests_are_answered_without_an_internal_error(adapters: dict[str, ProviderAdapter],
                                                              data: st.DataObject) -> None:
    raw = data.draw(mutated_xml(SEEDS) | mutated(SEEDS))
    status, answer = adapters["vero"].handle_soap(raw)
    assert fault_code(etree.fromstring(answer)) != INTERNAL
    assert status in (200, 500)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
    | st.sampled_from(["010190-123A", "2024", "1e999", "NaN", "-0", "x" * 300]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
params = st.dictionaries(st.sampled_from(["personCode", "year", "other", ""]) | st.text(max_size=8), json_values,
                         max_size=4)


@given(params)
def test_rest_parameters_map_to_a_request_or_a_fault(adapters: dict[str, ProviderAdapter], values: dict[str, Any]) -> None:
    adapter = adapters["vero"]
    op = adapter.definition.operations[0]
    answers(json_to_xml, adapter.definition.namespace, op.name, op.request_fields, values)


@given(params, st.dictionaries(st.sampled_from(["x-road-client", "x-road-id", "x-road-userid", "x-road-issue"]),
                               st.text(max_size=30), max_size=4), st.booleans())
@example(values={"\x1f": None}, headers={}, as_xml=True)  # the error echoed the name: ValueError in lxml
@example(values={"personCode": "a\x00b"}, headers={}, as_xml=False)  # was server.adapter.internal_error
@example(values={"personCode": "x"}, headers={"x-road-client": "\x08"}, as_xml=False)  # the same, from XSLT
def test_rest_calls_are_answered_without_an_internal_error(adapters: dict[str, ProviderAdapter], values: dict[str, Any],
                                                           headers: dict[str, str], as_xml: bool) -> None:
    adapter = adapters["vero"]
    result = adapter.handle_rest(adapter.definition.operations[0], values, headers, as_xml=as_xml)
    assert result.body.get("type") != INTERNAL, result.body
