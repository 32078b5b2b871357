"""The client proxy: the IS-facing WSGI app of a gateway.

What an information system talks to:

* ``POST`` (any path) with a SOAP 4.0 message -> an X-Road SOAP exchange;
* ``/r1/{INST}/{CLASS}/{MEMBER}/{SUB}/{SERVICE}[/path][?query]`` (any method) with
  ``X-Road-Client`` -> an X-Road REST exchange; absolute-URI targets (the IS uses the
  gateway as an HTTP proxy) are accepted too;
* ``GET /listClients[?xRoadInstance=XX]`` (XML, or JSON with ``Accept: application/json``);
* ``GET /wsdl?xRoadInstance=..&memberClass=..&memberCode=..&subsystemCode=..&serviceCode=..[&version=..]``
  (UXP style): the provider's WSDL, rewritten to point at this gateway and at the
  ``xroad.xsd``/``xml.xsd`` copies it serves under ``/schemas/``;
* ``GET /verificationconf``: the verification configuration as a zip.

An exchange: check the own configuration is valid, authenticate the IS for the client
subsystem (NOSSL, SSLNOAUTH, SSLAUTH), find the provider's gateways (own or allowed
federated instance, fastest first, maintenance skipped), sign, log, send over the
pooled mutual-TLS transport, verify the provider gateway's signature and the echoed
headers and ``requestHash``, log, answer the IS. This module does the checks up to
finding the provider's gateways and sends; the steps from signing on run in
:func:`gateway.proxy._flow.client_exchange`, with SOAP's and REST's differences in
:mod:`gateway.proxy._client_calls`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
import uuid
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from lxml import etree

from trust.errors import IdentifierError
from trust.protocol import (
    IDENTIFIERS_NS, XROAD_NS, ClientId, SecurityServerId, ServiceId, SoapFaultMessage, SubsystemId, XRoadFault,
    id_to_xml, internal_fault, parse_soap,
)

from gateway.conf import Router, split_address
from gateway.monitoring import OpNote
from gateway.net import (
    Part, PeerCertificateRejected, PeerError, PeerNetworkError, PeerResponse, PeerResponseTooLarge, PeerTransport,
    encode_message,
)
from gateway.serverconf import check_is_connection
from gateway.signing import MessageSignature

from ._client_calls import RestCall, RestTarget, SoapCall
from gateway.conf import ServerEntry
from ._flow import CLIENT_ORIGIN, PROXY_VERSION, Reply, check_accepting, client_exchange
from ._gateway_parts import GatewayParts
from ._answers import fault_reply, not_found, unsupported_path
from ._wsgi import MessageBudget, StartResponse, held_body, raw_path, respond

log = logging.getLogger("sild.gateway.clientproxy")

ORIGIN = CLIENT_ORIGIN
MAX_MESSAGE = 64 * 1024 * 1024
PEER_CHECK_SECONDS = 60.0


class ClientProxy:
    """WSGI app for information systems."""

    def __init__(self, parts: GatewayParts, transport: PeerTransport, router: Router, *,
                 peer_ocsp: Callable[[ServerEntry, bytes], list[bytes]] | None = None,
                 wsdl_provider: Callable[..., bytes] | None = None,
                 verificationconf: Callable[[], bytes] | None = None,
                 timeout: float = 60.0, budget: MessageBudget | None = None) -> None:
        self.parts = parts
        self.budget = budget or MessageBudget()  # large IS messages held in memory at once
        self.transport = transport
        self.router = router
        self._peer_ocsp = peer_ocsp
        self._wsdl_provider = wsdl_provider
        self._verificationconf = verificationconf
        self._timeout = timeout
        self._checked: dict[bytes, float] = {}
        self._lock = threading.Lock()

    # -- dispatch ------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        feed = self.parts.monitoring
        if feed is None:
            return self._dispatch(environ, start_response, None)
        note = OpNote.start("client")
        status_seen: list[str] = []

        def recording_start_response(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            status_seen.append(status)
            return start_response(status, headers, *exc)

        body = self._dispatch(environ, recording_start_response, note)
        if note.identified:  # exchanges only, not listClients or WSDL downloads
            status = int(status_seen[0].split()[0]) if status_seen else None
            feed.finish(note, fault_code=note.fault_code, fault_string=note.fault_string, status=status)
        return body

    def _dispatch(self, environ: dict[str, Any], start_response: StartResponse,
                  note: OpNote | None) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = raw_path(environ)  # percent-encoding kept: REST forwards exactly what was checked
        accept = environ.get("HTTP_ACCEPT")
        try:
            if unsupported_path(method, path):
                return respond(start_response, *not_found(method, path))
            if path.startswith("/r1/"):
                return respond(start_response, *self._rest(environ, method, path, note))
            if method == "GET" and path == "/listClients":
                return respond(start_response, *self._list_clients(environ))
            if method == "GET" and path.startswith("/schemas/"):
                from trust.protocol import WsdlError, schema_file

                try:
                    data = schema_file(path[len("/schemas/"):])
                except WsdlError:
                    return respond(start_response, "404 Not Found", [("Content-Type", "text/plain")],
                                   b"no such schema\n")
                return respond(start_response, "200 OK", [("Content-Type", "text/xml")], data)
            if method == "GET" and path == "/wsdl" and self._wsdl_provider is not None:
                return respond(start_response, *self._wsdl(environ))
            if method == "GET" and path == "/verificationconf" and self._verificationconf is not None:
                return respond(start_response, "200 OK", [("Content-Type", "application/zip")],
                               self._verificationconf())
            if method != "POST":
                raise XRoadFault("client.invalid_http_method", f"{method} is not allowed here; use POST for SOAP")
            return respond(start_response, *self._soap(environ, note))
        except XRoadFault as fault:
            fault = _outgoing(fault)
            _note_fault(note, fault)
            log.info("fault to IS: %s %s (%s)", fault.fault_code, fault.message, fault.correlation_id)
            return respond(start_response, *fault_reply(fault, method=method, path=path, accept=accept))
        except Exception:  # noqa: BLE001 - never crash, never leak
            internal = internal_fault(ORIGIN)
            _note_fault(note, internal)
            log.exception("client proxy failure %s", internal.correlation_id)
            return respond(start_response, *fault_reply(internal, method=method, path=path, accept=accept))

    # -- common steps --------------------------------------------------------------------
    def _prepare(self, environ: dict[str, Any], client: ClientId, provider: ClientId,
                 at: dt.datetime, security_server: SecurityServerId | None = None) -> list[ServerEntry]:
        p = self.parts
        p.conf.check_valid(at)
        self._authenticate_is(environ, client)
        check_accepting(p, at)
        candidates = p.conf.servers_serving(provider, at)
        if not candidates:
            raise XRoadFault("unknown_member",
                             f"cannot find a gateway for service provider {provider.to_text()}")
        if security_server is not None:  # the IS picked one node of the provider's cluster
            candidates = [c for c in candidates if c.server_id == security_server]
            if not candidates:
                raise XRoadFault("invalid_security_server",
                                 f"{security_server.to_text()} does not serve {provider.to_text()}")
        ordered = self.router.choose(candidates)
        if not ordered:
            raise XRoadFault("maintenance_mode", candidates[0].maintenance_message
                             or f"every gateway of {provider.to_text()} is in maintenance mode")
        return ordered

    def _authenticate_is(self, environ: dict[str, Any], client: ClientId) -> None:
        """The client must be registered here; the IS connected as its settings demand."""
        info = self.parts.serverconf.snapshot().client(client)
        if info is None or not info.registered:
            raise XRoadFault("unknown_member", f"client {client.to_text()} is not registered at this gateway")
        pem = environ.get("SSL_CLIENT_CERT")
        cert_hash = None
        if pem:
            import ssl as _ssl

            cert_hash = hashlib.sha256(_ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
        decision = check_is_connection(info, tls=environ.get("wsgi.url_scheme") == "https",
                                       peer_address=environ.get("REMOTE_ADDR"), cert_sha256=cert_hash)
        if not decision.allowed:
            raise decision.fault("client")

    def _send(self, candidates: list[ServerEntry], headers: dict[str, str], parts: list[Part],
              signature: MessageSignature, at: dt.datetime) -> tuple[ServerEntry, PeerResponse]:
        ctype, body = encode_message(parts, signature=signature.signature, ocsp=self.parts.own_ocsp.responses(),
                                     hash_chain_result=signature.hash_chain_result, hash_chain=signature.hash_chain)
        headers = dict(headers, **{"Content-Type": ctype, "X-Hash-Algorithm": "SHA-512",
                                   "X-Proxy-Version": PROXY_VERSION})
        last: Exception | None = None
        for entry in candidates:
            host, port = split_address(entry.address)
            self.transport.allow(host, port, entry.auth_cert_hashes)
            try:
                resp = self.transport.post(f"https://{host}:{port}/", headers=headers, content=body,
                                           timeout=self._timeout)
            except PeerCertificateRejected as exc:
                raise XRoadFault("ssl_authentication_failed", str(exc)) from exc
            except PeerResponseTooLarge as exc:
                raise XRoadFault(f"{ORIGIN}.service_failed.invalid_message", str(exc)) from exc
            except PeerNetworkError as exc:
                self.router.forget(entry.address)
                last = exc
                continue
            self._check_server_cert(entry, resp.peer_cert_der, at)
            return entry, resp
        raise XRoadFault("network_error", f"cannot connect to the provider's gateway: {last}")

    def _check_server_cert(self, entry: ServerEntry, der: bytes, at: dt.datetime) -> None:
        """OCSP and chain of the provider gateway's auth certificate, cached per cert."""
        key = hashlib.sha256(der).digest()
        now = time.monotonic()
        with self._lock:
            seen = self._checked.get(key)
        if seen is not None and now - seen < PEER_CHECK_SECONDS:
            return
        ocsp: list[bytes] = []
        if self._peer_ocsp is not None:
            try:
                ocsp = self._peer_ocsp(entry, der)
            except PeerError as exc:
                raise XRoadFault("ssl_authentication_failed",
                                 f"cannot get OCSP responses of {entry.server_id.to_text()}") from exc
        self.parts.auth_check.check(der, ocsp, instance=entry.server_id.instance, at=at)
        with self._lock:
            self._checked[key] = now

    # -- the exchanges --------------------------------------------------------------------
    def _soap(self, environ: dict[str, Any], note: OpNote | None) -> Reply:
        with held_body(environ, MAX_MESSAGE, self.budget) as body:
            return self.soap_exchange(body.read(), environ.get("CONTENT_TYPE"), environ, note)

    def soap_exchange(self, body: bytes, content_type: str | None, environ: dict[str, Any],
                      note: OpNote | None = None) -> Reply:
        """One SOAP exchange for an IS request (plain or with SwA/MTOM attachments)."""
        at = self.parts.clock()
        size = len(body)
        try:
            soap = parse_soap(body, content_type, role="request")
        except XRoadFault as fault:
            raise fault.at("client") from None
        del body  # the parsed parts are what goes on: the raw message is freed (held_body)
        if isinstance(soap, SoapFaultMessage):
            raise XRoadFault("client.invalid_message", "a request must not be a SOAP fault")
        h = soap.header
        assert h.service is not None
        x_request_id = str(uuid.uuid4())
        if note is not None:
            note.identify(h.client, h.service, "WSDL", x_request_id=x_request_id, request_size=size,
                          message_id=h.query_id or None, user_id=h.user_id, issue=h.issue,
                          protocol_version=h.protocol_version, attachment_count=len(soap.attachments))
        candidates = self._prepare(environ, h.client, h.service.provider, at, h.security_server)
        call = SoapCall(soap, x_request_id, environ.get("HTTP_SOAPACTION"))
        return client_exchange(self.parts, call, note, send=self._send, candidates=candidates, at=at)

    def _rest(self, environ: dict[str, Any], method: str, path: str, note: OpNote | None) -> Reply:
        """One REST exchange: ``/r1/{service}[/path]`` with ``X-Road-Client``."""
        at = self.parts.clock()
        target = RestTarget.read(environ, method, path)
        if note is not None:
            note.identify(target.client, target.service, "REST", x_request_id=target.x_request_id, request_size=0,
                          rest_method=method, rest_path=target.rest_path)
        provider = target.service.provider
        try:
            candidates = self._prepare(environ, target.client, provider, at, target.security_server)
        except XRoadFault as fault:
            raise _subsystem_hint(fault, self.parts, provider, at) from None
        with held_body(environ, MAX_MESSAGE, self.budget) as body:
            call = RestCall(target, body.read(), environ.get("QUERY_STRING", ""),
                            own_instance=self.parts.conf.own_instance)
            if note is not None:
                note.message_id, note.request_size = call.ids.query_id, body.size
            return client_exchange(self.parts, call, note, send=self._send, candidates=candidates, at=at)

    # -- metaservices of the client proxy ------------------------------------------------
    def _list_clients(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        p = self.parts
        at = p.clock()
        p.conf.check_valid(at)
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        instance = (qs.get("xRoadInstance") or [p.conf.own_instance])[0]
        if instance not in p.conf.instances(at):
            raise XRoadFault("client.invalid_request", f"instance {instance!r} is not known to this gateway")
        listing = p.conf.list_clients(instance, at)
        if "application/json" in (environ.get("HTTP_ACCEPT") or ""):
            members = []
            for item in listing:
                c = item.client
                ident: dict[str, str] = {"object_type": c.object_type.value, "xroad_instance": c.instance,
                                         "member_class": c.member_class, "member_code": c.member_code}
                if isinstance(c, SubsystemId):
                    ident["subsystem_code"] = c.subsystem_code
                entry: dict[str, object] = {"id": ident, "name": item.name}
                if item.subsystem_name:
                    entry["subsystem_name"] = item.subsystem_name
                members.append(entry)
            return "200 OK", [("Content-Type", "application/json")], json.dumps({"member": members}).encode()
        root = etree.Element(f"{{{XROAD_NS}}}clientList", nsmap={"xrd": XROAD_NS, "id": IDENTIFIERS_NS})
        for item in listing:
            member = etree.SubElement(root, f"{{{XROAD_NS}}}member")
            id_to_xml(item.client, f"{{{XROAD_NS}}}id", member)
            etree.SubElement(member, f"{{{XROAD_NS}}}name").text = item.name
            if item.subsystem_name:
                etree.SubElement(member, f"{{{XROAD_NS}}}subsystemName").text = item.subsystem_name
        return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], etree.tostring(
            root, xml_declaration=True, encoding="UTF-8")

    def _wsdl(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        qs = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            service = ServiceId(qs.get("xRoadInstance", ""), qs.get("memberClass", ""), qs.get("memberCode", ""),
                                qs.get("subsystemCode") or None, qs.get("serviceCode", ""), qs.get("version") or None)
        except IdentifierError as exc:
            raise XRoadFault("client.invalid_request", f"malformed service identifier: {exc}") from None
        client_text = qs.get("client") or environ.get("HTTP_X_ROAD_CLIENT")
        assert self._wsdl_provider is not None
        own_url = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        data = self._wsdl_provider(service, client_text, own_url)
        return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], data


def _subsystem_hint(fault: XRoadFault, parts: GatewayParts, provider: ClientId, at: dt.datetime) -> XRoadFault:
    """An unknown REST provider whose member exists: the caller most likely left out the
    subsystem (``/r1/FI/GOV/0245437-2/income`` reads ``income`` as the subsystem)."""
    if fault.leaf != "unknown_member" or not isinstance(provider, SubsystemId):
        return fault
    if parts.conf.client_exists(provider, at) or not parts.conf.client_exists(provider.member, at):
        return fault
    return XRoadFault(fault.fault_code, f"{provider.member.to_text()} has no subsystem {provider.subsystem_code!r}: "
                      f"a REST path needs /r1/{{instance}}/{{class}}/{{member}}/{{subsystem}}/{{service}}[/path]",
                      correlation_id=fault.correlation_id)


def _outgoing(fault: XRoadFault) -> XRoadFault:
    """A fault with no origin yet happened here, at the client proxy."""
    return fault if fault.origin is not None else fault.at(ORIGIN)


def _note_fault(note: OpNote | None, fault: XRoadFault) -> None:
    if note is not None:
        note.fail(fault.fault_code, fault.message)
