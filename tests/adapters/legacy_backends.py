"""A deliberately misbehaving legacy system for the failure tests (plain WSGI, runs under cheroot).

Paths: ``/ok12`` (SOAP 1.2 echo), ``/garbage`` (not XML), ``/wrongshape`` (XML of the
wrong shape), ``/slow`` (answers after ``SLOW_SECONDS``), ``/fault`` (SOAP fault with
internal details), ``/flaky`` (HTTP 503 until ``flaky_failures`` calls have failed),
``/signed`` and ``/badsigned`` (answers carrying a payload signature, the second tampered),
``/accept`` (SOAP 1.1 echo of what it received).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable

from lxml import etree

NS = "urn:test:legacy"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SLOW_SECONDS = 3.0


class LegacyBackend:
    def __init__(self, sign: Callable[[etree._Element], None] | None = None) -> None:
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.flaky_failures = 0
        self.last_body: bytes = b""
        self._sign = sign

    def count(self, path: str) -> int:
        with self.lock:
            return self.calls.get(path, 0)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        with self.lock:
            self.calls[path] = self.calls.get(path, 0) + 1
            calls = self.calls[path]
            self.last_body = body

        def reply(status: str, data: bytes, content_type: str = "text/xml; charset=utf-8") -> list[bytes]:
            start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
            return [data]

        if environ.get("REQUEST_METHOD") == "GET":
            return reply("200 OK", b"legacy\n", "text/plain")
        if path == "/garbage":
            return reply("200 OK", b"<html><body>Internal error at 10.1.2.3</body>")
        if path == "/slow":
            time.sleep(SLOW_SECONDS)
            return reply("200 OK", _soap11(etree.Element(f"{{{NS}}}slowResponse")))
        if path == "/fault":
            env = etree.Element(f"{{{SOAP11}}}Envelope")
            fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP11}}}Body"), f"{{{SOAP11}}}Fault")
            etree.SubElement(fault, "faultcode").text = "soap:Server"
            etree.SubElement(fault, "faultstring").text = "java.lang.NullPointerException at db01.internal:5432"
            return reply("500 Internal Server Error", etree.tostring(env))
        if path == "/flaky" and calls <= self.flaky_failures:
            return reply("503 Service Unavailable", b"busy", "text/plain")
        request = etree.fromstring(body)
        if path == "/ok12":
            wrapper = request.find(f"{{{SOAP12}}}Body")[0]  # type: ignore[index]
            text = wrapper.findtext(f"{{{NS}}}text")
            answer = etree.Element(f"{{{NS}}}answer")
            etree.SubElement(answer, f"{{{NS}}}text").text = f"echo:{text}"
            env = etree.Element(f"{{{SOAP12}}}Envelope")
            etree.SubElement(env, f"{{{SOAP12}}}Body").append(answer)
            return reply("200 OK", etree.tostring(env), "application/soap+xml; charset=utf-8")
        if path == "/wrongshape":
            return reply("200 OK", _soap11(etree.Element(f"{{{NS}}}somethingElse")))
        if path in ("/signed", "/badsigned"):
            answer = etree.Element(f"{{{NS}}}answer")
            record = etree.SubElement(answer, f"{{{NS}}}record")
            etree.SubElement(record, f"{{{NS}}}text").text = "signed by the backend"
            assert self._sign is not None
            self._sign(record)
            data = _soap11(answer)
            if path == "/badsigned":
                data = data.replace(b"signed by the backend", b"signed by the backenD")
            return reply("200 OK", data)
        # /flaky after its failures, /accept: echo the SOAP 1.1 payload back as an answer
        wrapper = request.find(f"{{{SOAP11}}}Body")[0]  # type: ignore[index]
        answer = etree.Element(f"{{{NS}}}answer")
        etree.SubElement(answer, f"{{{NS}}}text").text = f"accepted:{etree.QName(wrapper).localname}"
        return reply("200 OK", _soap11(answer))


def _soap11(payload: etree._Element) -> bytes:
    env = etree.Element(f"{{{SOAP11}}}Envelope")
    etree.SubElement(env, f"{{{SOAP11}}}Body").append(payload)
    return etree.tostring(env)
