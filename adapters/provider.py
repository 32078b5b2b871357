"""The provider-side adapter: an X-Road service in front of a legacy backend.

One :class:`ProviderAdapter` serves every operation of one adapter definition. Per
call: read the X-Road request (or the REST call), check an incoming payload
signature if the operation demands one, map the request (XSLT, hook), call the
backend, verify the backend's own signature if configured, map the answer, check it
against the declared response fields, sign the payload with the data owner's key,
and answer with the request's headers echoed unchanged.

The class is framework-free (bytes in, bytes out) so it can be driven by the Flask
edge (:mod:`adapters.http_app`), by tests, or embedded in another WSGI stack. Every
failure becomes an X-Road style fault with a specific code and a correlation id that
is also in the adapter's log; the adapter itself never stops serving because one
backend misbehaves.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx
from cryptography import x509
from lxml import etree

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.keys import Signer
from trust.infra import parse_xml, schema_problems, utc_now

from adapters.backends import BackendClient
from adapters.definition import AdapterDefinition, Operation, SignatureCheck
from adapters.errors import AdapterError
from adapters.definition import MappingError, apply_mapping
from adapters.describe import json_to_xml, undeclared_attribute, validation_schema, xml_safe, xml_to_json
from adapters.soap import (
    AdapterFault,
    XRoadRequest,
    build_fault,
    build_response,
    client_fault,
    parse_request,
    server_fault,
)
from adapters.xmldsig import (
    DS_NS,
    PayloadSignatureError,
    PayloadSigner,
    SignatureMode,
    SignatureTrust,
    find_signature,
    verify_payload,
)

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class SigningMaterial:
    """What the adapter signs with: a Signer, the key id inside it, and the certificate chain."""

    signer: Signer
    key_id: str
    certificates: tuple[x509.Certificate, ...]


def load_trust(check: SignatureCheck) -> SignatureTrust:
    def certs(paths: tuple[Path, ...]) -> tuple[x509.Certificate, ...]:
        out: list[x509.Certificate] = []
        for path in paths:
            out.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        return tuple(out)

    return SignatureTrust(ca_certificates=certs(check.trusted_cas), pinned_certificates=certs(check.trusted_certs))


@dataclass(frozen=True)
class RestResult:
    """A REST answer: ``body`` as JSON, or ``xml`` (the signed response document) when XML was asked for."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    xml: bytes | None = None


def _xml_error(body: dict[str, Any]) -> bytes:
    """X-Road's XML form of a REST error (``<error><type/><message/><detail/></error>``)."""
    error = etree.Element("error")
    for key in ("type", "message", "detail"):
        etree.SubElement(error, key).text = xml_safe(str(body.get(key, "")))  # messages echo input
    return etree.tostring(error, xml_declaration=True, encoding="UTF-8")


class ProviderAdapter:
    """Serves the operations of one adapter definition; thread-safe; :meth:`close` when done."""

    def __init__(
        self,
        definition: AdapterDefinition,
        *,
        signing: SigningMaterial | None = None,
        clock: Clock = utc_now,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.definition = definition
        self._clock = clock
        self._backends = {name: BackendClient(b, transport=transport) for name, b in definition.backends.items()}
        for op in definition.operations:  # a schema that does not compile stops start-up, not a request
            validation_schema(definition.namespace, op)
        self._local = threading.local()  # validators keep an error log: one set per worker thread
        self._signers: dict[str, PayloadSigner] = {}
        self._request_trust: dict[str, SignatureTrust] = {}
        self._backend_trust = {
            name: load_trust(b.verify_signature) for name, b in definition.backends.items() if b.verify_signature
        }
        for op in definition.operations:
            if op.require_signature is not None:
                self._request_trust[op.name] = load_trust(op.require_signature)
            if op.sign is not None:
                if signing is None:
                    raise AdapterError(
                        f"operation {op.name} signs its answers but the adapter has no signing key",
                        code="adapters.signature.config",
                    )
                self._signers[op.name] = PayloadSigner(
                    signer=signing.signer,
                    key_id=signing.key_id,
                    certificates=signing.certificates,
                    algorithm=(
                        SignatureAlgorithm[op.sign.algorithm]
                        if op.sign.algorithm
                        else SignatureAlgorithm.for_key(signing.certificates[0].public_key(), DigestAlgorithm.SHA256)
                    ),
                    mode=SignatureMode(op.sign.mode),
                )

    def _schema(self, op: Operation) -> etree.XMLSchema:
        schemas: dict[str, etree.XMLSchema] | None = getattr(self._local, "schemas", None)
        if schemas is None:
            schemas = self._local.schemas = {}
        schema = schemas.get(op.name)
        if schema is None:
            schema = schemas[op.name] = validation_schema(self.definition.namespace, op)
        return schema

    def _schema_problem(self, op: Operation, element: etree._Element) -> str | None:
        """The first reason ``element`` does not match the operation's schema, or ``None``.

        Bounded whatever the message: undeclared attributes are refused before libxml2
        makes one error of each, and the validator's log is emptied after every run, so
        no worker thread keeps the errors of the worst message it has seen (issue 15.3).
        """
        problem = undeclared_attribute(element)
        if problem is not None:
            return problem
        problems = schema_problems(self._schema(op), element, limit=1)
        return problems[0] if problems else None

    def close(self) -> None:
        for client in self._backends.values():
            client.close()

    def backend_client(self, name: str) -> BackendClient:
        return self._backends[name]

    # -- SOAP face ----------------------------------------------------------------
    def handle_soap(self, raw: bytes) -> tuple[int, bytes]:
        """Answer one X-Road SOAP request: ``(http_status, envelope_bytes)``; never raises."""
        correlation = str(uuid.uuid4())
        request: XRoadRequest | None = None
        started = time.perf_counter()
        try:
            request = parse_request(raw)
            op = self._operation_for(request)
            wrapper = self.invoke(op, request.body, request.context, correlation)
            answer = build_response(request, wrapper)
            log.info("soap %s client=%s id=%s ok %.1f ms", op.name, request.client, request.message_id,
                     (time.perf_counter() - started) * 1000)
            return 200, answer
        except AdapterFault as fault:
            log.warning("fault %s [%s]: %s (cause: %r)", fault.code, correlation, fault.message, fault.__cause__)
            header = request.header if request is not None else None
            return 500, build_fault(fault.code, fault.message, correlation, header=header)
        except Exception:  # a bug must cost one request, not the server
            log.exception("internal error [%s]", correlation)
            header = request.header if request is not None else None
            return 500, build_fault("server.adapter.internal_error", "internal error in the adapter", correlation,
                                    header=header)

    def _operation_for(self, request: XRoadRequest) -> Operation:
        code = request.service.service_code
        op = self.definition.operation(code)
        if op is None:
            raise client_fault("unknown_service", f"this adapter has no operation {code!r}")
        version = request.service.service_version
        if version is not None and op.version is not None and version != op.version:
            raise client_fault("unknown_service", f"operation {code} has version {op.version}, not {version}")
        expected = f"{{{self.definition.namespace}}}{op.name}"
        if request.body.tag != expected:
            raise client_fault("invalid_body", f"the body of {code} must be the element {op.name} in {self.definition.namespace}")
        return op

    # -- REST face ----------------------------------------------------------------
    def handle_rest(
        self, op: Operation, params: dict[str, Any], headers: dict[str, str], *, as_xml: bool = False
    ) -> RestResult:
        """Answer one REST call; X-Road-* headers give the mapping context.

        JSON by default; with ``as_xml`` the answer is the response document itself, with
        the data owner's signature, so REST consumers can keep signed records too.
        """
        result = self._rest(op, params, headers, as_xml)
        if as_xml and result.xml is None:
            return RestResult(result.status, result.body, result.headers, _xml_error(result.body))
        return result

    def _rest(self, op: Operation, params: dict[str, Any], headers: dict[str, str], as_xml: bool) -> RestResult:
        correlation = str(uuid.uuid4())
        try:
            wrapper = json_to_xml(self.definition.namespace, op.name, op.request_fields, params)
            context = {
                "userId": headers.get("x-road-userid", ""),
                "client": headers.get("x-road-client", ""),
                "issue": headers.get("x-road-issue", ""),
                "id": headers.get("x-road-id", ""),
                "service": headers.get("x-road-service", ""),
                "serviceCode": op.name,
                "serviceVersion": op.version or "",
            }
            unfit = next((key for key, value in context.items() if xml_safe(value) != value), None)
            if unfit is not None:  # the mapping gets them as XSLT parameters (found by tests/fuzz)
                raise client_fault("invalid_request", f"the X-Road header of {unfit} holds characters XML cannot carry")
            response = self.invoke(op, wrapper, context, correlation)
            if op.rest is not None and op.rest.not_found_when:
                found = response.xpath(op.rest.not_found_when, namespaces={"tns": self.definition.namespace})
                if found is True or (isinstance(found, list) and found):
                    return RestResult(404, {"type": "not_found", "message": "no such record", "detail": correlation}, {})
            if as_xml:
                return RestResult(200, {}, {}, etree.tostring(response, xml_declaration=True, encoding="UTF-8"))
            return RestResult(200, xml_to_json(response, op.response_fields), {})
        except AdapterFault as fault:
            log.warning("fault %s [%s]: %s", fault.code, correlation, fault.message)
            return RestResult(
                fault.http_status,
                {"type": fault.code, "message": fault.message, "detail": correlation},
                {"X-Road-Error": fault.code},
            )
        except Exception:
            log.exception("internal error [%s]", correlation)
            code = "server.adapter.internal_error"
            return RestResult(500, {"type": code, "message": "internal error in the adapter", "detail": correlation},
                              {"X-Road-Error": code})

    # -- the pipeline ---------------------------------------------------------------
    def invoke(self, op: Operation, wrapper: etree._Element, context: dict[str, str], correlation: str) -> etree._Element:
        """Request wrapper element in, signed response wrapper element out."""
        problem = self._schema_problem(op, wrapper)
        if problem is not None:
            raise client_fault("invalid_request", f"the {op.name} request does not match its schema: {problem}")
        if op.name in self._request_trust:
            wrapper = self._check_request_signature(op, wrapper)
        try:
            if op.request_mapping.xslt is None and op.request_mapping.hook is None:
                backend_request = _renamed(wrapper, self.definition.namespace, op.backend_namespace,
                                           op.backend_operation)
            else:
                backend_request = apply_mapping(op.request_mapping, wrapper, context)
        except MappingError as exc:
            log.warning("request mapping of %s failed [%s]: %s", op.name, correlation, exc)
            raise server_fault("mapping_failed", "the request could not be mapped for the backend") from exc
        backend = self._backends[op.backend]
        answer = backend.call(
            backend_request, soap_action=op.soap_action or op.backend_operation, idempotent=op.idempotent
        )
        payload = answer.payload
        if op.backend in self._backend_trust:
            payload = self._check_backend_signature(op, payload)
        try:
            if op.response_mapping.xslt is None and op.response_mapping.hook is None:
                response = _renamed(payload, etree.QName(payload).namespace, self.definition.namespace,
                                    f"{op.name}Response")
            else:
                response = apply_mapping(op.response_mapping, payload, context)
        except MappingError as exc:
            log.warning("response mapping of %s failed [%s]: %s", op.name, correlation, exc)
            raise server_fault("backend_malformed_response", "the backend answer could not be mapped") from exc
        expected = f"{{{self.definition.namespace}}}{op.name}Response"
        if response.tag != expected:
            log.warning("response mapping of %s produced %s [%s]", op.name, response.tag, correlation)
            raise server_fault("backend_malformed_response", "the backend answer does not have the expected structure")
        problem = self._schema_problem(op, response)
        if problem is not None:
            log.warning("answer of %s invalid [%s]: %s", op.name, correlation, problem)
            raise server_fault("backend_malformed_response", "the backend answer does not have the expected structure")
        signer = self._signers.get(op.name)
        if signer is not None and op.sign is not None:
            target = response.find(f"{{{self.definition.namespace}}}{op.sign.element}")
            if target is not None:  # an answer without the record (not found) has nothing to sign
                try:
                    signer.sign(target)
                except AdapterError:
                    raise
                except Exception as exc:
                    log.exception("signing failed [%s]", correlation)
                    raise server_fault("signing_failed", "the answer could not be signed") from exc
        return response

    def _check_request_signature(self, op: Operation, wrapper: etree._Element) -> etree._Element:
        signature = next(wrapper.iter(f"{{{DS_NS}}}Signature"), None)
        if signature is None:
            raise client_fault("signature_missing", f"operation {op.name} requires a signed payload")
        parent = signature.getparent()
        assert parent is not None
        signed = parent if parent is not wrapper else signature.getprevious()
        if signed is None:
            raise client_fault("signature_invalid", "the signature does not sit on a payload element")
        try:
            verified = verify_payload(signed, self._request_trust[op.name], at=self._clock())
        except PayloadSignatureError as exc:
            raise client_fault("signature_invalid", exc.message) from exc
        # the backend gets exactly the data that was verified, without the envelope of proof
        if signature.getparent() is not None:
            signature.getparent().remove(signature)  # type: ignore[union-attr]
        signed_parent = signed.getparent()
        if signed_parent is not None:
            replacement = verified.element
            replacement.tail = signed.tail
            signed_parent.replace(signed, replacement)
            return wrapper
        return verified.element

    def _check_backend_signature(self, op: Operation, payload: etree._Element) -> etree._Element:
        backend = self.definition.backends[op.backend]
        check = backend.verify_signature
        assert check is not None
        target = payload
        if check.element:
            target = next((el for el in payload.iter() if isinstance(el.tag, str)
                           and etree.QName(el).localname == check.element), None)  # type: ignore[assignment]
            if target is None:
                raise server_fault("backend_signature_invalid", "the backend answer lacks its signed element")
        try:
            verified = verify_payload(target, self._backend_trust[op.backend], at=self._clock())
        except PayloadSignatureError as exc:
            log.warning("backend %s signature: %s", op.backend, exc)
            raise server_fault("backend_signature_invalid", "the backend's signature on its answer does not verify") from exc
        # continue with exactly what was verified
        signature = find_signature(target)
        if signature is not None and signature.getparent() is not None:
            signature.getparent().remove(signature)  # type: ignore[union-attr]
        replacement = verified.element
        if target is payload:
            return replacement
        parent = target.getparent()
        assert parent is not None
        parent.replace(target, replacement)
        return payload


def _renamed(element: etree._Element, old_ns: str | None, new_ns: str | None, root_name: str | None) -> etree._Element:
    """The default mapping without XSLT: move elements from one namespace to another, rename the root.

    Enough for the common document/literal backend whose messages differ from the
    service's only by namespace and wrapper name; anything else needs a stylesheet.
    """
    copy = parse_xml(etree.tostring(element), what="message")
    if new_ns is not None and new_ns != old_ns:
        for el in copy.iter():
            if isinstance(el.tag, str) and etree.QName(el).namespace == old_ns:
                el.tag = f"{{{new_ns}}}{etree.QName(el).localname}"
        etree.cleanup_namespaces(copy)
    if root_name:
        copy.tag = f"{{{etree.QName(copy).namespace}}}{root_name}" if etree.QName(copy).namespace else root_name
    return copy
