"""Calling legacy backends: SOAP 1.1 (document/literal and RPC/encoded), SOAP 1.2, plain XML.

Each backend gets one pooled ``httpx.Client`` with an explicit ``SSLContext`` (server
verification against the configured CA, optional client certificate), so nothing in
the environment (``SSL_CERT_FILE``, proxies) changes where or how it connects.

A backend that is down, slow, or answers garbage is the normal case for a legacy
system, not an exception to crash on: every failure becomes an :class:`AdapterFault`
with its own ``server.adapter.*`` code, so the consumer sees *what* went wrong
(``backend_unreachable``, ``backend_timeout``, ``backend_malformed_response``,
``backend_fault`` ...) but never a host name, a stack trace or the backend's
internal error text (unless the operator opts in with ``pass_fault_string``).

Retries are bounded and only for operations marked idempotent (reads): a retried
write might be executed twice by a legacy system that never heard of idempotency keys.
"""

from __future__ import annotations

import copy
import logging
import os
import ssl
import time
from dataclasses import dataclass
from typing import Callable

import httpx
from lxml import etree

from trust.infra import parse_xml

from adapters.definition import Backend, TlsSettings
from adapters.errors import AdapterError
from trust.protocol import SOAP12_ENV_NS as SOAP12_NS, SOAP_ENCODING_NS, SOAP_ENV_NS as SOAP11_NS
from adapters.soap import AdapterFault, read_fault, server_fault

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({502, 503, 504})
_MAX_INLINED_ELEMENTS = 100_000


@dataclass(frozen=True)
class BackendAnswer:
    """The payload element a backend answered with, and the exact bytes it sent."""

    payload: etree._Element
    raw: bytes
    status: int


def ssl_context(tls: TlsSettings | None) -> ssl.SSLContext:
    """A client TLS context: verify the server (configured CA or system store), optional client cert."""
    if tls is not None and tls.ca_file is not None:
        context = ssl.create_default_context(cafile=str(tls.ca_file))
    else:
        context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls is not None and tls.client_cert is not None and tls.client_key is not None:
        password = os.environ.get(tls.client_key_password_env) if tls.client_key_password_env else None
        try:
            context.load_cert_chain(str(tls.client_cert), str(tls.client_key), password=password)
        except (ssl.SSLError, OSError) as exc:
            raise AdapterError(
                f"cannot load the backend client certificate {tls.client_cert.name}: {exc}",
                code="adapters.backend.tls_config",
            ) from exc
    return context


def _resolve_multirefs(body: etree._Element) -> None:
    """Inline SOAP-encoding ``href="#id"`` references (RPC/encoded answers use them for structs)."""
    targets = {el.get("id"): el for el in body.iter() if isinstance(el.tag, str) and el.get("id")}
    if not targets:
        return
    total = sum(1 for _el in body.iter())
    for _ in range(32):  # bounded: references may chain, never loop forever
        refs = [el for el in body.iter() if isinstance(el.tag, str) and (el.get("href") or "").startswith("#")]
        if not refs:
            break
        for ref in refs:
            target = targets.get(ref.get("href", "")[1:])
            if target is None:
                raise server_fault("backend_malformed_response", "the backend answer refers to a missing multiRef")
            # cyclic or nested references can multiply the tree: stop at a fixed size
            total += sum(1 for _el in target.iter())
            if total > _MAX_INLINED_ELEMENTS:
                raise server_fault("backend_malformed_response", "the backend answer has exploding multiRefs")
            del ref.attrib["href"]
            ref.text = target.text
            for child in target:
                ref.append(copy.deepcopy(child))
            for key, value in target.attrib.items():
                if key != "id" and not str(key).endswith("}root"):
                    ref.set(key, value)
    else:
        raise server_fault("backend_malformed_response", "the backend answer has cyclic multiRefs")
    for target in targets.values():
        parent = target.getparent()
        if parent is not None and parent.tag in (f"{{{SOAP11_NS}}}Body",):
            parent.remove(target)


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        text = str(seen)
        if "SSL" in text or "certificate" in text or "alert" in text.lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class BackendClient:
    """One legacy backend; thread-safe, pooled, closed with :meth:`close`."""

    def __init__(
        self,
        backend: Backend,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self._sleep = sleep
        verify: ssl.SSLContext | bool = ssl_context(backend.tls) if backend.url.startswith("https://") else False
        self._client = httpx.Client(
            verify=verify,
            timeout=httpx.Timeout(backend.timeout, connect=backend.connect_timeout),
            trust_env=False,
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    # -- request building ---------------------------------------------------------
    def _envelope(self, payload: etree._Element, soap_action: str | None) -> tuple[bytes, dict[str, str]]:
        kind = self.backend.kind
        if kind == "xml":
            body = etree.tostring(payload, xml_declaration=True, encoding="UTF-8")
            return body, {"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml, text/xml"}
        ns = SOAP12_NS if kind == "soap12" else SOAP11_NS
        envelope = etree.Element(f"{{{ns}}}Envelope", nsmap={"soapenv": ns})
        etree.SubElement(envelope, f"{{{ns}}}Body").append(payload)
        if kind == "soap11-rpc" and payload.get(f"{{{SOAP11_NS}}}encodingStyle") is None:
            payload.set(f"{{{SOAP11_NS}}}encodingStyle", SOAP_ENCODING_NS)
        data = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
        action = soap_action or ""
        if kind == "soap12":
            content_type = "application/soap+xml; charset=utf-8"
            if action:
                content_type += f'; action="{action}"'
            return data, {"Content-Type": content_type}
        return data, {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}

    # -- calling ------------------------------------------------------------------
    def call(self, payload: etree._Element, *, soap_action: str | None = None, idempotent: bool = False) -> BackendAnswer:
        data, headers = self._envelope(payload, soap_action)
        attempts = 1 + (self.backend.retries if idempotent else 0)
        last: AdapterFault | None = None
        for attempt in range(attempts):
            if attempt:
                self._sleep(min(0.1 * (2 ** (attempt - 1)), 1.0))
            try:
                status, raw = self._post(data, headers)
            except AdapterFault as fault:
                last = fault
                if fault.code in ("server.adapter.backend_unreachable", "server.adapter.backend_timeout"):
                    continue
                raise
            if status in _RETRY_STATUS and attempt + 1 < attempts:
                last = server_fault("backend_http_error", f"the backend answered HTTP {status}")
                continue
            return self._answer(status, raw)
        assert last is not None
        raise last

    def _post(self, data: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        name = self.backend.name
        try:
            with self._client.stream("POST", self.backend.url, content=data, headers=headers) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.backend.max_response_bytes:
                        raise server_fault("backend_response_too_large", "the backend answer is too large")
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks)
        except httpx.TimeoutException as exc:
            log.warning("backend %s timed out: %s", name, exc)
            if isinstance(exc, httpx.ConnectTimeout):
                raise server_fault("backend_unreachable", "the backend system cannot be reached") from exc
            raise server_fault("backend_timeout", "the backend system did not answer in time") from exc
        except httpx.ConnectError as exc:
            log.warning("backend %s unreachable: %s", name, exc)
            if _is_tls_failure(exc):
                raise server_fault("backend_tls_failed", "the TLS connection to the backend failed") from exc
            raise server_fault("backend_unreachable", "the backend system cannot be reached") from exc
        except httpx.HTTPError as exc:
            log.warning("backend %s transport error: %s", name, exc)
            if _is_tls_failure(exc):  # TLS 1.3 reports a refused client certificate after the handshake
                raise server_fault("backend_tls_failed", "the TLS connection to the backend failed") from exc
            raise server_fault("backend_unreachable", "the connection to the backend system failed") from exc

    def _answer(self, status: int, raw: bytes) -> BackendAnswer:
        if not raw.strip():
            raise server_fault("backend_malformed_response", f"the backend answered HTTP {status} with an empty body")
        try:
            root = parse_xml(raw, max_bytes=self.backend.max_response_bytes, what="backend answer")
        except AdapterError:
            raise
        except Exception as exc:
            log.warning("backend %s sent unparsable answer (HTTP %s): %s", self.backend.name, status, exc)
            if status >= 400:
                raise server_fault("backend_http_error", f"the backend answered HTTP {status}") from exc
            raise server_fault("backend_malformed_response", "the backend answer is not well-formed XML") from exc
        if self.backend.kind == "xml":
            if status >= 400:
                raise server_fault("backend_http_error", f"the backend answered HTTP {status}")
            return BackendAnswer(root, raw, status)
        ns = SOAP12_NS if self.backend.kind == "soap12" else SOAP11_NS
        if root.tag != f"{{{ns}}}Envelope":
            raise server_fault("backend_malformed_response", "the backend answer is not the expected SOAP envelope")
        fault = read_fault(root)
        if fault is not None:
            code, text = fault
            log.info("backend %s fault %s: %s", self.backend.name, code, text)
            message = "the backend system answered with a fault"
            if self.backend.pass_fault_string and text:
                message = f"{message}: {text[:300]}"
            raise server_fault("backend_fault", message)
        if status >= 400:
            raise server_fault("backend_http_error", f"the backend answered HTTP {status}")
        body = root.find(f"{{{ns}}}Body")
        if body is None:
            raise server_fault("backend_malformed_response", "the backend answer has no SOAP body")
        if self.backend.kind == "soap11-rpc":
            _resolve_multirefs(body)
        elements = [child for child in body if isinstance(child.tag, str)]
        if not elements:
            raise server_fault("backend_malformed_response", "the backend answer has an empty SOAP body")
        return BackendAnswer(elements[0], raw, status)

    def ping(self) -> str:
        """Check that the backend answers HTTP at all (any status); return a one-line description."""
        try:
            response = self._client.get(self.backend.url)
        except httpx.TimeoutException as exc:
            raise server_fault("backend_timeout", f"backend {self.backend.name} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise server_fault("backend_unreachable", f"backend {self.backend.name} cannot be reached: {exc}") from exc
        return f"HTTP {response.status_code}"
