"""``sild demo``: two federated countries exchanging data, told step by step.

The demo is the sandbox (:mod:`gateway.sandbox`) driven the way an information
system and an operator would drive it: it brings up Estonia (EE) and Finland (FI)
on 127.0.0.1, then makes real calls through the gateways' IS-facing ports and shows
what came back, with identifiers, HTTP statuses and timings. Every step checks its
outcome and the demo fails (exit 1) when one does not hold, so the test suite runs it
as an end-to-end test.

Whatever happens (success, a failed step, Ctrl-C, SIGTERM) everything the demo
started is stopped, unless ``keep`` asks to leave the network running
(:mod:`gateway.sandbox._demo_run` runs the steps and keeps that promise).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
from lxml import etree

from trust.errors import XmlError
from trust.protocol import IDENTIFIERS_NS as IDN, XROAD_NS as XRD, ClientId, ServiceId, parse_client
from trust.infra import parse_xml, utc_now

from ._console import Console
from gateway.errors import GatewayError
from trust.protocol import SoapMessage, parse_soap
from trust.protocol import build_request

TAX = parse_client("EE/GOV/70000001/tax")
POPULATION = parse_client("EE/GOV/70000002/population")
BANK = parse_client("EE/COM/10000003/bank")
VERO = parse_client("FI/GOV/0245437-2/vero")
DVV = parse_client("FI/GOV/0242431-1/dvv")
GET_TAX_RECORD = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
VERO_NS = "http://vero.sandbox.sild.eu/producer"
MATTI_FI = "010190-123M"
MATTI_EE = "39001011237"
VERO_GATEWAY = "FI/GOV/0245437-2/gw1"


class DemoStepFailed(GatewayError):
    """A step of the demo did not have the outcome it shows."""

    code = "gateway.demo.step_failed"


@dataclass
class Exchange:
    """What one call through the gateways gave back."""

    status: int
    seconds: float
    body: bytes
    headers: httpx.Headers
    query_id: str


class Demo:
    """The seven steps, against a sandbox in ``root``."""

    def __init__(self, root: Path, console: Console, *, timeout: float = 120.0, keep: bool = False) -> None:
        self.root = root
        self.console = console
        self.timeout = timeout
        self.keep = keep
        self.state: dict[str, Any] = {}
        self.http = httpx.Client(timeout=30.0, trust_env=False)
        self.soap_query_id = ""

    # -- helpers ------------------------------------------------------------------------
    def _gateway_of(self, client: ClientId) -> dict[str, Any]:
        text = client.to_text()
        for gateway in self.state["gateways"]:
            if text in gateway["clients"]:
                return dict(gateway)
        raise DemoStepFailed(f"no gateway serves {text}")

    def _soap(self, client: ClientId, service: ServiceId, body: etree._Element, purpose: str | None = None) -> Exchange:
        query_id = str(uuid.uuid4())
        message = build_request(client=client, service=service, query_id=query_id, body=body,
                                user_id="EE38001010000", issue="demo", purpose=purpose)
        started = time.monotonic()
        response = self.http.post(self._gateway_of(client)["is_url"] + "/", content=message,
                                  headers={"Content-Type": "text/xml; charset=utf-8"})
        return Exchange(response.status_code, time.monotonic() - started, response.content, response.headers, query_id)

    def _rest(self, client: ClientId, path: str, accept: str = "application/json") -> Exchange:
        query_id = f"demo-{uuid.uuid4()}"
        started = time.monotonic()
        response = self.http.get(self._gateway_of(client)["is_url"] + path,
                                 headers={"X-Road-Client": client.to_text(), "X-Road-Id": query_id,
                                          "X-Road-UserId": "FI010190-123M", "Accept": accept})
        return Exchange(response.status_code, time.monotonic() - started, response.content, response.headers, query_id)

    @staticmethod
    def _fault(exchange: Exchange) -> str:
        if exchange.headers.get("X-Road-Error"):
            return str(exchange.headers["X-Road-Error"])
        try:
            root = parse_xml(exchange.body, what="fault")
        except XmlError:
            return ""
        return (root.findtext(".//faultcode") or "").strip()

    def _expect(self, condition: bool, message: str) -> None:
        if not condition:
            raise DemoStepFailed(message)

    def _tax_body(self, person: str = MATTI_FI) -> etree._Element:
        body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
        etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = person
        return body

    def _show_call(self, what: str, exchange: Exchange) -> None:
        self.console.detail(what, f"HTTP {exchange.status} in {exchange.seconds * 1000:.0f} ms")

    # -- step 1 -----------------------------------------------------------------------------
    def bring_up(self) -> None:
        """Start the sandbox in this (the main) thread, so Ctrl-C or SIGTERM interrupt it.

        ``sandbox.up`` stops whatever it started when it is interrupted; a watcher
        thread only reports progress (each process as it starts).
        """
        from gateway.sandbox import up

        done = threading.Event()
        started = time.monotonic()

        def watch() -> None:
            seen: set[str] = set()
            pids = self.root / "pids"
            while not done.wait(1.0):
                for pid_file in sorted(pids.glob("*.pid")) if pids.is_dir() else []:
                    if pid_file.stem not in seen:
                        seen.add(pid_file.stem)
                        self.console.progress(f"started {pid_file.stem} ({time.monotonic() - started:.0f} s)")

        watcher = threading.Thread(target=watch, name="sandbox-progress", daemon=True)
        watcher.start()
        try:
            # unless the network is to be kept, a watchdog takes it down should this
            # process die without cleaning up (SIGKILL, a crash)
            owner = None if self.keep else os.getpid()
            self.state = up(self.root, timeout=self.timeout, owner_pid=owner)
        finally:
            done.set()
            watcher.join()
        for instance, info in sorted(self.state["instances"].items()):
            self.console.detail(f"{instance} authority", info["central_url"])
            self.console.detail(f"{instance} trust services", info["trust_url"] + " (CA, OCSP, TSA)")
            self.console.detail(f"{instance} anchor SHA-224", _breakable(info["anchors"]["external_sha224"]))
        for gateway in self.state["gateways"]:
            self.console.detail("gateway", f"{gateway['id']} serves {', '.join(gateway['clients'])}")
        self.console.line("Each authority trusts the other's external anchor: the two countries are federated.", indent=4)

    # -- step 2 -----------------------------------------------------------------------------
    def discovery(self) -> None:
        gateway = self._gateway_of(TAX)["is_url"]
        started = time.monotonic()
        response = self.http.get(gateway + "/listClients", params={"xRoadInstance": "FI"},
                                 headers={"Accept": "application/json"})
        elapsed = time.monotonic() - started
        self._expect(response.status_code == 200, f"listClients answered HTTP {response.status_code}")
        members = response.json().get("member", [])
        self.console.detail("listClients FI", f"HTTP 200 in {elapsed * 1000:.0f} ms, {len(members)} entries")
        subsystems = set()
        for member in members:
            ident = member["id"]
            if ident.get("subsystem_code"):
                subsystems.add(ident["subsystem_code"])
                label = f"{ident['xroad_instance']}/{ident['member_class']}/{ident['member_code']}/{ident['subsystem_code']}"
                self.console.detail("  FI client", f"{label} ({member.get('name', '')})")
        self._expect({"vero", "dvv"} <= subsystems, f"FI's subsystems vero and dvv not listed: {sorted(subsystems)}")
        allowed: list[str] = []
        for provider in (VERO, DVV):
            path = f"/r1/{provider.to_text()}/allowedMethods"
            exchange = self._rest(TAX, path)
            self._expect(exchange.status == 200, f"REST allowedMethods of {provider.to_text()}: HTTP {exchange.status}")
            codes = [s["service_code"] for s in json.loads(exchange.body).get("service", [])]
            soap = self._soap(TAX, ServiceId(provider.instance, provider.member_class, provider.member_code,
                                             provider.subsystem_code, "allowedMethods"),  # type: ignore[union-attr]
                              etree.Element(f"{{{XRD}}}allowedMethods"))
            self._expect(soap.status == 200, f"SOAP allowedMethods of {provider.to_text()}: HTTP {soap.status}")
            root = parse_xml(soap.body, what="allowedMethods answer")
            codes += [f"{s.findtext(f'{{{IDN}}}serviceCode')} {s.findtext(f'{{{IDN}}}serviceVersion') or ''}".strip()
                      for s in root.iter(f"{{{XRD}}}service")]
            allowed += codes
            self.console.detail("  EE tax may call", f"{provider.to_text()}: {', '.join(sorted(codes)) or '(nothing)'}")
        self._expect(any(c.startswith("getTaxRecord") for c in allowed), "getTaxRecord is not among the allowed methods")

    # -- step 3 -----------------------------------------------------------------------------
    def cross_border_soap(self) -> None:
        exchange = self._soap(TAX, GET_TAX_RECORD, self._tax_body())
        self.soap_query_id = exchange.query_id
        self._show_call("EE tax -> FI vero", exchange)
        self.console.detail("service", GET_TAX_RECORD.typed_text())
        self.console.detail("message id", exchange.query_id)
        self._expect(exchange.status == 200, f"getTaxRecord failed: {self._fault(exchange) or exchange.status}")
        answer = parse_soap(exchange.body, exchange.headers.get("content-type", "text/xml"), role="response")
        self._expect(isinstance(answer, SoapMessage), "the answer is a SOAP fault")
        assert isinstance(answer, SoapMessage)
        self._expect(answer.header.query_id == exchange.query_id, "the answer does not echo the message id")
        record = next(answer_root_iter(exchange.body, "taxRecord"), None)
        self._expect(record is not None, "the answer holds no tax record")
        assert record is not None
        for child in record:
            if isinstance(child.tag, str) and len(child) == 0 and child.text:
                self.console.detail(f"  {etree.QName(child).localname}", child.text.strip())
        self.console.detail("requestHash", (answer.header.request_hash.value if answer.header.request_hash else "-")[:44] + "...")
        container = self._export(exchange.query_id, "response", require_timestamp=False)
        self.console.detail("signed by", f"{container.signer.to_text()} ({container.signature.signer_certificate.subject.rfc4514_string()})")
        self._expect(container.signer.instance == "FI", f"the answer was signed by {container.signer.to_text()}, not by FI")

    # -- step 4 -----------------------------------------------------------------------------
    def cross_border_rest(self) -> None:
        path = f"/r1/{POPULATION.to_text()}/persons/{MATTI_EE}"
        exchange = self._rest(VERO, path, accept="application/json")
        self._show_call("FI vero -> EE", exchange)
        self.console.detail("request", f"GET {path}")
        self._expect(exchange.status == 200, f"persons failed: {self._fault(exchange) or exchange.status}")
        person = json.loads(exchange.body).get("person") or {}
        self.console.detail("  person", f"{person.get('givenName')} {person.get('familyName')}, born {person.get('dateOfBirth')}")
        self.console.detail("request hash", str(exchange.headers.get("X-Road-Request-Hash", ""))[:44] + "...")
        self._expect(bool(exchange.headers.get("X-Road-Request-Hash")), "no X-Road-Request-Hash on the answer")
        signed = self._rest(VERO, path, accept="application/xml")
        self._expect(signed.status == 200, f"persons as XML failed: HTTP {signed.status}")
        verified = self._verify_payload(signed.body)
        self.console.detail("XML-DSig", f"valid, signed by {verified}")

    def _verify_payload(self, body: bytes) -> str:
        """Verify the person record's XML-DSig against EE's CA, as any receiver of the data can."""
        from adapters.xmldsig import SignatureTrust, verify_payload
        from trust.pki import load_certificates

        root = parse_xml(body, what="signed person record")
        signature = next(root.iter("{http://www.w3.org/2000/09/xmldsig#}Signature"), None)
        self._expect(signature is not None, "the person record carries no XML-DSig signature")
        assert signature is not None
        signed = signature.getparent()
        assert signed is not None
        ca = load_certificates((self.root / "EE" / "trust" / "certs" / "root.pem").read_bytes())
        result = verify_payload(signed, SignatureTrust(tuple(ca)), at=utc_now())
        certificate = result.signer_certificate
        return certificate.subject.rfc4514_string() if certificate is not None else "a pinned certificate"

    # -- step 5 -----------------------------------------------------------------------------
    def data_owner_decides(self) -> None:
        exchange = self._soap(BANK, GET_TAX_RECORD, self._tax_body())
        code = self._fault(exchange)
        self._show_call("EE bank -> FI vero", exchange)
        self.console.detail("fault", code or "(none)")
        self._expect(code.endswith("access_denied"), f"the bank was not refused with access_denied but {code!r}")
        self.console.line("FI vero granted getTaxRecord to EE tax only; its gateway refused the bank.", indent=4)

    # -- step 6 -----------------------------------------------------------------------------
    def no_single_point_of_failure(self) -> None:
        from gateway.sandbox import _processes as processes

        central = self.state["instances"]["EE"]["process"]["central"]
        processes.stop(self.root, central)
        self.console.detail("stopped", "EE governing authority")
        exchange = self._soap(TAX, GET_TAX_RECORD, self._tax_body())
        self._show_call("EE tax -> FI vero", exchange)
        self._expect(exchange.status == 200, "exchange failed without EE's authority")
        self.console.line("The gateways work on their cached, signed configuration.", indent=4)
        processes.restart(self.root, central)
        self.console.detail("restarted", "EE governing authority")

        vero_gw = next(g for g in self.state["gateways"] if g["id"] == VERO_GATEWAY)
        processes.stop(self.root, vero_gw["process"])
        self.console.detail("stopped", f"FI vero's gateway {VERO_GATEWAY}")
        failed = self._soap(TAX, GET_TAX_RECORD, self._tax_body())
        code = self._fault(failed)
        self._show_call("EE tax -> FI vero", failed)
        self.console.detail("fault", code)
        self._expect("network_error" in code, f"expected a network error, got {code!r}")
        other = self._rest(TAX, f"/r1/{DVV.to_text()}/residents/{MATTI_FI}")
        self._show_call("EE tax -> FI dvv", other)
        self._expect(other.status == 200, f"FI dvv failed while vero's gateway was down: HTTP {other.status}")
        processes.restart(self.root, vero_gw["process"])
        self._wait_healthy(vero_gw["is_url"])
        again = self._soap(TAX, GET_TAX_RECORD, self._tax_body())
        self.console.detail("restarted", VERO_GATEWAY)
        self._show_call("EE tax -> FI vero", again)
        self._expect(again.status == 200, "FI vero did not answer after its gateway came back")

    def _wait_healthy(self, url: str) -> None:
        deadline = time.monotonic() + self.timeout
        with self.console.waiting("waiting for the gateway") as tick:
            while time.monotonic() < deadline:
                try:
                    if self.http.get(url + "/listClients", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                tick()
                time.sleep(0.5)
        raise DemoStepFailed(f"{url} did not come back")

    # -- step 7 -----------------------------------------------------------------------------
    def evidence(self) -> None:
        deadline = time.monotonic() + self.timeout
        with self.console.waiting("waiting for the next batch timestamp") as tick:
            while True:
                try:
                    container = self._export(self.soap_query_id, "request", require_timestamp=True)
                    break
                except GatewayError as exc:
                    if "timestamp" not in str(exc) or time.monotonic() > deadline:
                        raise
                    tick()
                    time.sleep(1.0)
        out = self.root / f"{self.soap_query_id}-request.asice"
        self.console.detail("container", str(out))
        for line in container.describe():
            label, _, value = line.partition(": ")
            self.console.detail(f"  {label}", value)
        self._expect(container.timestamp is not None, "the exported container has no timestamp")
        self.console.detail("verified", "message digest, XAdES signature, signer certificate chain and "
                                        "OCSP status, batch timestamp (as `sild asic verify` does)")
        self._expect(container.signer == TAX, f"the request was signed by {container.signer.to_text()}")

    def _export(self, query_id: str, direction: str, *, require_timestamp: bool) -> Any:
        from federation.conftree import load_tree
        from trust.evidence import verify_container

        from gateway.messagelog import export_exchange
        from gateway.messagelog import MessageLog
        from gateway.db import open_engine
        from gateway.settings import NodeSettings

        directory = Path(self._gateway_of(TAX)["directory"])
        engine = open_engine(NodeSettings.load(directory).messagelog_database(directory), migrate=False)
        try:
            data = export_exchange(MessageLog(engine), query_id, direction=direction, side="client",
                                   require_timestamp=require_timestamp)
        finally:
            engine.dispose()
        if require_timestamp:
            (self.root / f"{query_id}-{direction}.asice").write_bytes(data)
        policies = load_tree(directory / "conf").to_trust_policies()
        return verify_container(data, policies, require_timestamp=require_timestamp)

    # -- with --tracker ----------------------------------------------------------------------
    def tracker(self) -> None:
        from ._demo_tracker import show_tracker

        show_tracker(self)

    def close(self) -> None:
        self.http.close()


def _breakable(fingerprint: str) -> str:
    """A colon-separated fingerprint with a break after 14 bytes, so it wraps cleanly in 80 columns."""
    groups = fingerprint.split(":")
    return ":".join(groups[:14]) + ": " + ":".join(groups[14:]) if len(groups) > 14 else fingerprint


def answer_root_iter(body: bytes, local_name: str) -> Iterator[etree._Element]:
    root = parse_xml(body, what="SOAP answer")
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname == local_name:
            yield element
