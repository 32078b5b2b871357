"""The data tracker's cost per served exchange (what the server proxy pays after logging).

    .venv/bin/python bench/tracker.py [--count 2000]

Prints the wall and CPU time per :meth:`gateway.tracker.Tracker.observe` call on a
SQLite server configuration (WAL, synchronous=FULL, as a gateway runs it) - the
proxy's share - and then of the writer thread's flush of that batch (extraction,
HMAC, one transaction), for: an undeclared service (a dictionary lookup), a SOAP
request whose subject is found by XPath, a REST request by path template, and a
request whose subject cannot be found (logged and counted). No assertion: figures.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree  # noqa: E402

from gateway.db import open_engine  # noqa: E402
from gateway.serverconf import ServerConf  # noqa: E402
from gateway.tracker import SeenRequest, Tracker, make_rule, save_rule  # noqa: E402
from trust.protocol import ServiceId, build_request, parse_client, parse_soap  # noqa: E402

NS = "http://vero.sandbox.sild.eu/producer"
TAX = parse_client("EE/GOV/70000001/tax")
VERO = parse_client("FI/GOV/0245437-2/vero")


def _svc(code: str, version: str | None = None) -> ServiceId:
    return ServiceId("FI", "GOV", "0245437-2", "vero", code, version)


def _soap_seen(service: ServiceId) -> SeenRequest:
    body = etree.Element(f"{{{NS}}}{service.service_code}")
    etree.SubElement(body, f"{{{NS}}}personCode").text = "010190-123M"
    msg = build_request(client=TAX, service=service, query_id=str(uuid.uuid4()), body=body, user_id="EE1", issue="b")
    soap = parse_soap(msg, "text/xml; charset=utf-8", role="request")
    return SeenRequest("SOAP", TAX, service, "q", "EE1", "b", soap=soap)  # type: ignore[arg-type]


def _measure(label: str, tracker: Tracker, seen: SeenRequest, count: int) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    tracker.max_queue = count + 1
    for n in range(count):
        tracker.observe(lambda: seen, n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<30} proxy:  {wall / count * 1e6:6.0f} us wall {cpu / count * 1e6:6.0f} us CPU per exchange")
    wall, cpu = time.perf_counter(), time.process_time()
    written = tracker.flush()  # what the writer thread does every half second, here for the whole batch
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{'':<30} writer: {wall / count * 1e6:6.0f} us wall {cpu / count * 1e6:6.0f} us CPU per exchange"
          f" ({written} written in one transaction)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the failing case logs a warning per call
    with tempfile.TemporaryDirectory() as tmp:
        conf = ServerConf(open_engine(Path(tmp) / "serverconf.db"))
        save_rule(conf, make_rule(VERO, "getTaxRecord", "xpath", "*/v:personCode", {"v": NS}))
        save_rule(conf, make_rule(VERO, "income", "path", "/{person}"))
        save_rule(conf, make_rule(VERO, "other", "query", "person"))
        tracker = Tracker(conf, Path(tmp), flush_seconds=3600)  # flushed by _measure, not a thread
        rest = SeenRequest("REST", TAX, _svc("income"), "q", rest_path="/010190-123M")
        print(f"tracker.observe, {args.count} calls each, SQLite synchronous=FULL")
        _measure("undeclared service", tracker, _soap_seen(_svc("nothing", "v1")), args.count)
        _measure("SOAP, XPath subject", tracker, _soap_seen(_svc("getTaxRecord", "v1")), args.count)
        _measure("REST, path subject", tracker, rest, args.count)
        _measure("subject not found (counted)", tracker,
                 SeenRequest("REST", TAX, _svc("other"), "q", rest_path="/x"), args.count)
        tracker.close()
        print(f"recorded {tracker.recorded}, failures {tracker.failures}")


if __name__ == "__main__":
    main()
