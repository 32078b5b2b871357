"""Backend answer handling without a network: RPC/encoded multiRefs, including hostile ones."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from adapters.backends import BackendClient
from adapters.definition import Backend
from adapters.soap import AdapterFault

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def _client(answer: bytes, status: int = 200) -> BackendClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=answer))
    return BackendClient(Backend(name="b", kind="soap11-rpc", url="http://backend.invalid/"), transport=transport)


def _call(answer: str) -> etree._Element:
    client = _client(answer.encode())
    try:
        return client.call(etree.Element("{urn:x}op")).payload
    finally:
        client.close()


def _env(body: str) -> str:
    return f'<e:Envelope xmlns:e="{SOAP}"><e:Body>{body}</e:Body></e:Envelope>'


def test_multirefs_are_inlined() -> None:
    payload = _call(_env('<r:opResponse xmlns:r="urn:x"><return href="#a"/></r:opResponse>'
                         '<multiRef id="a"><name>Mari</name><home href="#b"/></multiRef>'
                         '<multiRef id="b"><town>Tartu</town></multiRef>'))
    assert payload.findtext("return/name") == "Mari"
    assert payload.findtext("return/home/town") == "Tartu"


@pytest.mark.parametrize(
    "body",
    [
        '<r:opResponse xmlns:r="urn:x"><return href="#missing"/></r:opResponse><multiRef id="a"/>',
        '<r:opResponse xmlns:r="urn:x"><return href="#a"/></r:opResponse>'
        + '<multiRef id="a">' + '<x href="#b"/>' * 20 + '</multiRef>'
        + '<multiRef id="b">' + '<y href="#c"/>' * 20 + '</multiRef>'
        + '<multiRef id="c">' + '<z href="#a"/>' * 20 + '</multiRef>',
    ],
    ids=["missing", "exploding"],
)
def test_hostile_multirefs_are_malformed_answers(body: str) -> None:
    with pytest.raises(AdapterFault) as info:
        _call(_env(body))
    assert info.value.code == "server.adapter.backend_malformed_response"


def test_http_error_without_fault_and_empty_body() -> None:
    for answer, status in ((b"", 200), (b"<html/>", 503), (_env("").encode(), 200)):
        client = _client(answer, status)
        with pytest.raises(AdapterFault) as info:
            client.call(etree.Element("{urn:x}op"))
        client.close()
        assert info.value.code in ("server.adapter.backend_malformed_response", "server.adapter.backend_http_error")


def test_self_reference_terminates_with_a_finite_tree() -> None:
    payload = _call(_env('<r:opResponse xmlns:r="urn:x"><return href="#a"/></r:opResponse>'
                         '<multiRef id="a"><x href="#a"/></multiRef>'))
    assert sum(1 for _ in payload.iter()) < 20
