"""Exchanges through a gateway pair versus the backend called directly.

    .venv/bin/python bench/exchange.py [--sandbox DIR] [--seconds 8] [--clients 1,8,16] [--cases soap,rest] [--warmup 2]
                                       [--workers 2] [--baseline REV] [--cpu]

``--baseline REV`` also starts a sandbox of the build ``REV`` (a git worktree in a
temporary directory, :mod:`builds`) and measures it beside this one, row by row, so
both see the same host in the same minutes. ``--cpu`` prints, per row with several
clients, the CPU milliseconds per exchange of each sandbox process (gateways, their
workers, authorities, trust services, backends) as read from ``/proc``.

Without ``--sandbox`` a sandbox is started in a temporary directory (``sild sandbox
up --workers 2``: two worker processes serve each gateway, :mod:`gateway.node._workers`)
and stopped at the end. Each exchange is a signed, verified and logged
cross-border call: EE tax -> EE gateway -> mutual TLS -> FI gateway -> backend, and
back. "Direct" calls the same backend without gateways, so the difference is what
the gateway pair costs. The cases:

* ``SOAP echo (lean)`` and ``REST echo (lean)``: a backend that costs nearly nothing
  (a SOAP service answering ``echoSoap`` v1 with its request renamed ``...Response``,
  and a REST echo), registered at FI vero's gateway by this script; these rows show
  the gateways' own cost and are the ones the issue's target is read on;
* ``SOAP getTaxRecord`` and ``REST income``: the sandbox's own FI vero adapter in
  front of its legacy backend (one Python process for every sandbox backend, so it
  is the bottleneck of these rows).

Printed per case: exchanges/s, p50 and p99 latency in ms, for one client (latency)
and for several concurrent clients (throughput). Everything shares this machine's
cores: the load generator, four gateways, two authorities, trust services, backends.

The load generator is wrk (:mod:`wrk_load`; ``make bench`` installs the Debian
package): C, one thread, a few microseconds of CPU per call, one kept-alive
connection per client. ``--load-generator python`` uses threads of ``http.client``
instead (the generator of the earlier figures): ~0.3 ms of CPU per call taken from
the gateways. Back to back on one sandbox the two read about the same rates (SOAP
echo: wrk ~7 % more; REST echo: no difference beyond the host's noise), and wrk a
higher p99, since it re-sends the moment an answer arrives.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import http.client
from urllib.parse import urlsplit
from pathlib import Path
from typing import Callable


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import builds  # noqa: E402
import wrk_load  # noqa: E402
from load_threads import start_and_join  # noqa: E402
from wrk_load import ID_PLACEHOLDER, Request  # noqa: E402

VERO_NS = "http://vero.sandbox.sild.eu/producer"


def soap_message(query_id: str, operation: str = "getTaxRecord") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers" xmlns:v="{VERO_NS}">
 <SOAP-ENV:Header>
  <xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>EE</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
   <id:memberCode>70000001</id:memberCode><id:subsystemCode>tax</id:subsystemCode></xrd:client>
  <xrd:service id:objectType="SERVICE"><id:xRoadInstance>FI</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
   <id:memberCode>0245437-2</id:memberCode><id:subsystemCode>vero</id:subsystemCode>
   <id:serviceCode>{operation}</id:serviceCode><id:serviceVersion>v1</id:serviceVersion></xrd:service>
  <xrd:id>{query_id}</xrd:id><xrd:userId>EE38001010000</xrd:userId><xrd:protocolVersion>4.0</xrd:protocolVersion>
 </SOAP-ENV:Header>
 <SOAP-ENV:Body><v:{operation}><v:personCode>010190-123M</v:personCode></v:{operation}></SOAP-ENV:Body>
</SOAP-ENV:Envelope>""".encode()


def start_lean_backend() -> tuple[str, subprocess.Popen[bytes]]:
    """A backend that costs nearly nothing (REST echo, SOAP echo, :mod:`lean_backend`), to see the
    gateway pair's own cost."""
    from gateway.sandbox._ports import reserve_port

    port = reserve_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "lean_backend.py"), str(port)])
    for _ in range(100):
        try:
            call("POST", f"http://127.0.0.1:{port}/", b"x", {"Content-Type": "application/json"})
            break
        except OSError:
            time.sleep(0.05)
    return f"http://127.0.0.1:{port}", proc


def register_lean(state: dict, url: str) -> None:
    """Register ``echo`` (REST) and ``echoSoap`` v1 (SOAP) at FI vero's gateway for EE tax,
    as an operator would (a sandbox reused from an earlier run is re-pointed at ``url``)."""
    from gateway.serverconf import ServerConf
    from gateway.db import open_engine
    from gateway.serverconf import Operation
    from trust.protocol import parse_client

    vero, tax = parse_client("FI/GOV/0245437-2/vero"), parse_client("EE/GOV/70000001/tax")
    gdir = next(g["directory"] for g in state["gateways"] if g["id"] == "FI/GOV/0245437-2/gw1")
    from gateway.settings import NodeSettings

    engine = open_engine(NodeSettings.load(Path(gdir)).serverconf_database(Path(gdir)))  # a cluster's: PostgreSQL
    conf = ServerConf(engine)
    codes = {s.id.service_code for s in conf.snapshot().services_of(vero)}
    if "echo" not in codes:
        conf.add_rest(vero, url, "echo", enabled=True)
        conf.grant(vero, "echo", tax)
    else:
        conf.update_service(vero.service("echo"), url=url)
    if "echoSoap" not in codes:
        conf.add_wsdl(vero, url + "/echo.wsdl", operations=[Operation("echoSoap", "v1", url)], enabled=True)
        conf.grant(vero, "echoSoap", tax)
    else:
        conf.update_service(vero.service("echoSoap", "v1"), url=url)
    engine.dispose()
    time.sleep(2)  # the gateway notices the change counter within a second


class Caller:
    """One keep-alive HTTP/1.1 connection per client thread (http.client: the load generator
    should cost as little CPU as it can, since it shares the cores with what it measures)."""

    def __init__(self, base: str) -> None:
        u = urlsplit(base)
        self.prefix = u.path.rstrip("/")
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)

    def __call__(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> bytes:
        self.conn.request(method, self.prefix + path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
        return data

    def close(self) -> None:
        self.conn.close()


def call(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> bytes:
    u = urlsplit(url)
    c = Caller(f"{u.scheme}://{u.netloc}")
    try:
        return c(method, u.path or "/", body, headers)
    finally:
        c.close()


Call = Callable[[Caller], object]


def run(base: str, fn: Call, clients: int, seconds: float, warmup: float = 2.0) -> tuple[float, float, float, int]:
    """(exchanges/s, p50 ms, p99 ms, errors) with ``clients`` threads for ``seconds``, after
    ``warmup`` seconds of the same load that are not counted (connections, caches, batches)."""
    if warmup > 0:
        run(base, fn, clients, warmup, warmup=0)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        mine: list[float] = []
        caller = Caller(base)
        try:
            try:
                fn(caller)  # warm the connection
            except Exception:  # noqa: BLE001 - e.g. a backend resetting a connection: counted
                with lock:
                    errors[0] += 1
                caller.close()
                caller = Caller(base)
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    fn(caller)
                except Exception:  # noqa: BLE001 - counted, the run goes on
                    with lock:
                        errors[0] += 1
                    caller.close()
                    caller = Caller(base)
                    continue
                mine.append(time.perf_counter() - t0)
        finally:
            caller.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.monotonic()
    start_and_join(threads)
    elapsed = time.monotonic() - start
    if not latencies:
        return 0.0, float("nan"), float("nan"), errors[0]
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000, errors[0]


XML = {"Content-Type": "text/xml; charset=UTF-8"}
JSON_BODY = b'{"personCode": "010190-123M"}'


def python_call(request: Request) -> Call:
    """``request`` as the Python generator's call: a SOAP body gets a fresh message id each time."""
    return lambda c: c(request.method, request.path, request.body_for(str(uuid.uuid4())), request.headers)


def cases(state: dict, lean: str) -> list[tuple[str, tuple[str, Request], tuple[str, Request]]]:
    """(name, (base URL, request) through the gateways, (base URL, request) direct) per case."""
    ee = next(g["is_url"] for g in state["gateways"] if g["id"] == "EE/GOV/70000001/gw1")
    vero = state["backends"]["vero"]
    tax = {"X-Road-Client": "EE/GOV/70000001/tax"}

    def soap(path: str, operation: str) -> Request:
        return Request("POST", path, XML, soap_message(ID_PLACEHOLDER, operation))

    def get(path: str, headers: dict[str, str]) -> Request:
        return Request("GET", path, headers)

    def post_json(path: str, headers: dict[str, str]) -> Request:
        return Request("POST", path, {**headers, "Content-Type": "application/json"}, JSON_BODY)

    return [
        ("SOAP echo (lean)", (ee, soap("/", "echoSoap")), (lean, soap("/", "echoSoap"))),
        ("REST echo (lean)", (ee, post_json("/r1/FI/GOV/0245437-2/vero/echo", tax)), (lean, post_json("/", {}))),
        ("SOAP getTaxRecord", (ee, soap("/", "getTaxRecord")), (vero, soap("/soap", "getTaxRecord"))),
        ("REST income", (ee, get("/r1/FI/GOV/0245437-2/vero/income/010190-123M", tax)),
         (vero, get("/rest/income/010190-123M", {}))),
    ]


def measure(generator: str, base: str, request: Request, clients: int, seconds: float,
            warmup: float) -> tuple[float, float, float, int]:
    """(exchanges/s, p50 ms, p99 ms, errors) of one row, with the chosen load generator."""
    if generator == "wrk":
        got = wrk_load.run(base, request, clients, seconds, warmup)
        return got.rate, got.p50_ms, got.p99_ms, got.errors
    return run(base, python_call(request), clients, seconds, warmup)


def machine_speed(seconds: float = 1.0) -> str:
    """RSA-2048 signatures per second on one core: a yardstick printed with the figures, since
    a shared host's cores vary in speed from hour to hour (and the figures with them)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    best = 0
    for _ in range(3):
        start, count = time.process_time(), 0
        while time.process_time() - start < seconds / 3:
            key.sign(b"yardstick", padding.PKCS1v15(), hashes.SHA256())
            count += 1
        best = max(best, int(count / (time.process_time() - start)))
    return f"machine: RSA-2048 sign {best:,}/s on one core (idle reference host: ~4,000/s)"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox", type=Path, default=None, help="a running sandbox directory")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", default="1,8,16", help="rows of concurrent clients (1: latency; more: throughput)")
    parser.add_argument("--cases", default="", help="comma-separated name prefixes (default: all)")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds of the same load before each row")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes per gateway of the sandbox this script starts (gateway.json `workers`)")
    parser.add_argument("--load-generator", choices=("wrk", "python"), default=None,
                        help="wrk (Debian package; the default when installed) or the Python threads")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also measure the build REV (git revision), side by side in this run")
    parser.add_argument("--cpu", action="store_true", help="CPU ms per exchange of each sandbox process")
    args = parser.parse_args()
    args.generator = args.load_generator or ("wrk" if wrk_load.available() else "python")
    if args.generator == "wrk" and not wrk_load.available():
        parser.error("wrk is not installed (Debian package wrk; `make bench` installs it)")
    return args


def _row(args: argparse.Namespace, build: str, root: Path, name: str, label: str, base: str, request: Request,
         clients: int) -> None:
    cpu = args.cpu and clients > 1 and label == "gateways"
    if cpu:
        measure(args.generator, base, request, clients, args.warmup, 0)  # the warm-up, outside the CPU reading
        before = builds.process_cpu(root)
    rate, p50, p99, errs = measure(args.generator, base, request, clients, args.seconds, 0 if cpu else args.warmup)
    print(f"{build:<10}{name:<20}{label:<10}{clients:>8}{rate:>10.0f}{p50:>9.2f}{p99:>9.2f}{errs:>8}", flush=True)
    if cpu and rate > 0:
        spent = builds.cpu_delta(before, builds.process_cpu(root))
        exchanges = rate * args.seconds
        parts = sorted(spent.items(), key=lambda kv: -kv[1])
        print(f"{'':<10}  CPU ms/exchange: total {sum(spent.values()) * 1000 / exchanges:.2f}; "
              + ", ".join(f"{k} {v * 1000 / exchanges:.2f}" for k, v in parts if v * 1000 / exchanges >= 0.05),
              flush=True)


def main() -> None:
    args = _arguments()
    own = args.sandbox is None
    sandboxes: list[tuple[str, Path, Path]] = []  # (build, sandbox directory, source tree)
    lean_proc = None
    with contextlib.ExitStack() as stack:
        root = args.sandbox or Path(tempfile.mkdtemp(prefix="sild-bench-"))
        if own:
            print(f"starting a sandbox in {root} ({args.workers} worker processes per gateway) ...", flush=True)
            builds.sandbox_up(ROOT, root, args.workers)
            stack.callback(builds.sandbox_down, ROOT, root)
        sandboxes.append(("current", root, ROOT))
        if args.baseline:
            tree = stack.enter_context(builds.checkout(args.baseline))
            broot = Path(tempfile.mkdtemp(prefix="sild-bench-baseline-"))
            print(f"starting a sandbox of {args.baseline} in {broot} ...", flush=True)
            builds.sandbox_up(tree, broot, args.workers)
            stack.callback(builds.sandbox_down, tree, broot)
            sandboxes.append((args.baseline[:9], broot, tree))
        if own or args.baseline:
            builds.settle()
        lean, lean_proc = start_lean_backend()
        stack.callback(lambda: (lean_proc.terminate(), lean_proc.wait()))
        states = {build: json.loads((root / "sandbox.json").read_text()) for build, root, _tree in sandboxes}
        for state in states.values():
            register_lean(state, lean)
        print(machine_speed(), flush=True)
        print(f"load generator: {args.generator}" + ("" if args.generator == "wrk" else
              " (threads of http.client: ~0.3 ms of CPU per call, taken from the gateways)"), flush=True)
        wanted = [w.strip().lower() for w in args.cases.split(",") if w.strip()]
        print(f"{'build':<10}{'case':<20}{'path':<10}{'clients':>8}{'exch/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        table = {build: cases(state, lean) for build, state in states.items()}
        for index, (name, _via, direct) in enumerate(table["current"]):
            if wanted and not any(name.lower().startswith(w) for w in wanted):
                continue
            for clients in [int(c) for c in args.clients.split(",")]:
                for build, broot, _tree in sandboxes:
                    base, request = table[build][index][1]
                    _row(args, build, broot, name, "gateways", base, request, clients)
                _row(args, "", root, name, "direct", *direct, clients)


if __name__ == "__main__":
    main()
