"""Exchanges through a gateway pair versus the backend called directly.

    .venv/bin/python bench/exchange.py [--sandbox DIR] [--seconds 10] [--clients 1,4,8]

Without ``--sandbox`` a sandbox is started in a temporary directory (``sild sandbox
up``) and stopped at the end. Each exchange is a signed, verified and logged
cross-border call: EE tax -> EE gateway -> mutual TLS -> FI gateway -> FI vero's
adapter -> legacy backend, and back. SOAP is ``getTaxRecord`` v1, REST is ``income``.
"Direct" calls the same adapter endpoint without gateways, so the difference is
what the gateway pair costs.

Printed per case: exchanges/s, p50 and p99 latency in ms, for one client (latency)
and for several concurrent clients (throughput). Everything shares this machine's
cores: client, four gateways, two authorities, trust services, backends.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.sandbox import processes  # noqa: E402

VERO_NS = "http://vero.sandbox.sild.eu/producer"


def soap_message(query_id: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers" xmlns:v="{VERO_NS}">
 <SOAP-ENV:Header>
  <xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>EE</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
   <id:memberCode>70000001</id:memberCode><id:subsystemCode>tax</id:subsystemCode></xrd:client>
  <xrd:service id:objectType="SERVICE"><id:xRoadInstance>FI</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
   <id:memberCode>0245437-2</id:memberCode><id:subsystemCode>vero</id:subsystemCode>
   <id:serviceCode>getTaxRecord</id:serviceCode><id:serviceVersion>v1</id:serviceVersion></xrd:service>
  <xrd:id>{query_id}</xrd:id><xrd:userId>EE38001010000</xrd:userId><xrd:protocolVersion>4.0</xrd:protocolVersion>
 </SOAP-ENV:Header>
 <SOAP-ENV:Body><v:getTaxRecord><v:personCode>010190-123M</v:personCode></v:getTaxRecord></SOAP-ENV:Body>
</SOAP-ENV:Envelope>""".encode()


ECHO_SERVER = """
import sys
from cheroot import wsgi
def app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
server = wsgi.Server(("127.0.0.1", int(sys.argv[1])), app, numthreads=16)
server.safe_start()
"""


def start_echo_backend() -> tuple[str, subprocess.Popen[bytes]]:
    """A backend that costs nearly nothing, to see the gateway pair's own cost."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)])
    for _ in range(100):
        try:
            httpx.post(f"http://127.0.0.1:{port}/", content=b"x", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return f"http://127.0.0.1:{port}/", proc


def register_echo(state: dict, url: str) -> None:
    """Register ``echo`` (REST) at FI vero's gateway for EE tax, as an operator would."""
    from gateway.serverconf import ServerConf
    from gateway.serverconf_db import open_engine
    from trust.identifiers import parse_client

    vero, tax = parse_client("FI/GOV/0245437-2/vero"), parse_client("EE/GOV/70000001/tax")
    gdir = next(g["directory"] for g in state["gateways"] if g["id"] == "FI/GOV/0245437-2/gw1")
    engine = open_engine(Path(gdir) / "serverconf.db")
    conf = ServerConf(engine)
    if "echo" not in {s.id.service_code for s in conf.snapshot().services_of(vero)}:
        conf.add_rest(vero, url.rstrip("/"), "echo", enabled=True)
        conf.grant(vero, "echo", tax)
    else:  # a sandbox reused from an earlier run: point the service at this run's backend
        conf.update_service(vero.service("echo"), url=url.rstrip("/"))
    engine.dispose()
    time.sleep(2)  # the gateway notices the change counter within a second


def run(call: Callable[[httpx.Client], None], clients: int, seconds: float) -> tuple[float, float, float, int]:
    """(exchanges/s, p50 ms, p99 ms, errors) with ``clients`` threads for ``seconds``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        mine: list[float] = []
        with httpx.Client(timeout=30, trust_env=False) as http:
            call(http)  # warm the connection
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    call(http)
                except Exception:  # noqa: BLE001 - counted, the run goes on
                    with lock:
                        errors[0] += 1
                    continue
                mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    if not latencies:
        return 0.0, float("nan"), float("nan"), errors[0]
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox", type=Path, default=None, help="a running sandbox directory")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", default="1,8")
    args = parser.parse_args()
    own = args.sandbox is None
    root = args.sandbox or Path(tempfile.mkdtemp(prefix="sild-bench-"))
    if own:
        print(f"starting a sandbox in {root} ...", flush=True)
        subprocess.run(processes.sild_command("sandbox", "up", str(root)), check=True, stdout=subprocess.DEVNULL)
    try:
        state = json.loads((root / "sandbox.json").read_text())
        ee = next(g["is_url"] for g in state["gateways"] if g["id"] == "EE/GOV/70000001/gw1")
        vero = state["backends"]["vero"]

        def soap_via(http: httpx.Client) -> None:
            r = http.post(ee + "/", content=soap_message(str(uuid.uuid4())), headers={"Content-Type": "text/xml"})
            if r.status_code != 200:
                raise RuntimeError(r.text[:200])

        def soap_direct(http: httpx.Client) -> None:
            r = http.post(vero + "/soap", content=soap_message(str(uuid.uuid4())), headers={"Content-Type": "text/xml"})
            if r.status_code != 200:
                raise RuntimeError(r.text[:200])

        def rest_via(http: httpx.Client) -> None:
            r = http.get(ee + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                         headers={"X-Road-Client": "EE/GOV/70000001/tax"})
            if r.status_code != 200:
                raise RuntimeError(r.text[:200])

        def rest_direct(http: httpx.Client) -> None:
            r = http.get(vero + "/rest/income/010190-123M")
            if r.status_code != 200:
                raise RuntimeError(r.text[:200])

        echo_url, echo_proc = start_echo_backend()
        register_echo(state, echo_url)

        def echo_via(http: httpx.Client) -> None:
            r = http.post(ee + "/r1/FI/GOV/0245437-2/vero/echo", content=b'{"personCode": "010190-123M"}',
                          headers={"X-Road-Client": "EE/GOV/70000001/tax", "Content-Type": "application/json"})
            if r.status_code != 200:
                raise RuntimeError(r.text[:200])

        def echo_direct(http: httpx.Client) -> None:
            r = http.post(echo_url, content=b'{"personCode": "010190-123M"}',
                          headers={"Content-Type": "application/json"})
            if r.status_code != 200:
                raise RuntimeError(r.text[:200])

        cases = [("SOAP getTaxRecord", soap_via, soap_direct), ("REST income", rest_via, rest_direct),
                 ("REST echo (no backend)", echo_via, echo_direct)]
        print(f"{'case':<24}{'path':<10}{'clients':>8}{'exch/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for name, via, direct in cases:
            for clients in [int(c) for c in args.clients.split(",")]:
                for label, fn in (("gateways", via), ("direct", direct)):
                    rate, p50, p99, errs = run(fn, clients, args.seconds)
                    print(f"{name:<24}{label:<10}{clients:>8}{rate:>10.0f}{p50:>9.2f}{p99:>9.2f}{errs:>8}", flush=True)
    finally:
        if "echo_proc" in locals():
            echo_proc.terminate()
            echo_proc.wait()
        if own:
            subprocess.run(processes.sild_command("sandbox", "down", str(root)), check=False, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
