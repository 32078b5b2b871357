"""``GET /wsdl?xRoadInstance=..&memberClass=..&memberCode=..&subsystemCode=..&serviceCode=..[&version=..]``.

UXP-style WSDL download from the consumer's own gateway: the gateway asks the
provider's gateway with X-Road's ``getWsdl`` metaservice (a normal signed, logged
exchange), takes the WSDL attachment, points ``soap:address`` at itself and the
schema imports (``xroad.xsd``, ``xml.xsd``...) at the copies it serves under
``/schemas/``, so a SOAP toolkit (zeep) builds a client with no internet access.

The call is made for a client of this gateway: ``?client=INST/CLASS/CODE/SUB`` or the
``X-Road-Client`` header, else the first registered client here.
"""

from __future__ import annotations

import uuid
from typing import Any

from trust.errors import IdentifierError
from trust.protocol import ClientId, ServiceId, parse_client

from trust.protocol import XRoadFault
from ._metaservices import get_wsdl_request
from trust.protocol import parse_soap
from trust.protocol import make_self_contained, rewrite_endpoint


def _client(node: Any, client_text: str | None) -> ClientId:
    if client_text:
        try:
            return parse_client(client_text)
        except IdentifierError as exc:
            raise XRoadFault("client.invalid_request", f"malformed client: {exc}") from None
    snap = node.serverconf.snapshot()
    for client_id, info in snap.clients.items():
        if info.registered:
            return client_id  # type: ignore[no-any-return]
    raise XRoadFault("client.invalid_request", "this gateway has no registered client to ask with")


def provider_wsdl(node: Any, service: ServiceId, client_text: str | None, own_url: str) -> bytes:
    client = _client(node, client_text)
    request = get_wsdl_request(client, service.provider, query_id=str(uuid.uuid4()),
                               service_code=service.service_code, service_version=service.service_version)
    environ = {"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http"}
    status, headers, body = node.client_proxy.soap_exchange(request, "text/xml; charset=utf-8", environ)
    ctype = dict(headers).get("Content-Type", "")
    answer = parse_soap(body, ctype, role="response")
    attachments = getattr(answer, "attachments", ())
    if not status.startswith("200") or not attachments:
        raise XRoadFault("server.clientproxy.service_failed.invalid_message",
                         "the provider's gateway answered getWsdl without a WSDL")
    wsdl = attachments[0].read()
    return make_self_contained(rewrite_endpoint(wsdl, own_url.rstrip("/") + "/"), own_url)
