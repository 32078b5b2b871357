"""Counts the sild function calls and module switches of one warm SOAP exchange.

A figure of how the code is laid out, not of speed: an exchange that hops between
many modules is hard to follow and pays Python's call overhead at every hop. The
world of the in-process gateway tests (two instances, real PKI, real mutual TLS, all
in this process) is built, warmed up with a few exchanges, and then one SOAP call
from EE tax to FI vero is traced on every thread: each call into a function of
``trust``, ``federation``, ``adapters`` or ``gateway`` counts, and so does each
switch to a function of another module on the same thread.

    .venv/bin/python bench/exchange_calls.py [--code-root DIR] [--top 15]

``--code-root`` traces another checkout (an older commit, say) with the same
script, so that two layouts are compared by one method.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from types import FrameType
from typing import Any

PACKAGES = ("trust", "federation", "adapters", "gateway")


class CallCounter:
    """A profile function that counts sild calls and module switches per thread while on."""

    def __init__(self, root: Path) -> None:
        self.prefixes = tuple(str(root / package) + "/" for package in PACKAGES)
        self.root = str(root) + "/"
        self.on = False
        self.calls = 0
        self.switches = 0
        self.pairs: collections.Counter[tuple[str, str]] = collections.Counter()
        self.modules: collections.Counter[str] = collections.Counter()
        self._last: dict[int, str] = {}
        self._lock = threading.Lock()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if not self.on or event != "call":
            return
        filename = frame.f_code.co_filename
        if not filename.startswith(self.prefixes):
            return
        module = filename[len(self.root):]
        thread = threading.get_ident()
        with self._lock:
            self.calls += 1
            self.modules[module] += 1
            last = self._last.get(thread)
            if last is not None and last != module:
                self.switches += 1
                self.pairs[tuple(sorted((last, module)))] += 1  # type: ignore[arg-type]
            self._last[thread] = module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code-root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    root = args.code_root.resolve()
    sys.path.insert(0, str(root))

    import httpx
    from lxml import etree

    from tests.gateway._world import TAX, build_world
    from trust import ServiceId
    try:
        from trust.protocol import build_request
    except ImportError:  # the layout before the rooms
        from gateway.soap_build import build_request  # type: ignore[no-redef]

    counter = CallCounter(root)
    threading.setprofile(counter)  # every server thread started from here on
    sys.setprofile(counter)
    service = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
    ns = "http://vero.sandbox.sild.eu/producer"

    def call() -> None:
        body = etree.Element(f"{{{ns}}}getTaxRecord")
        etree.SubElement(body, f"{{{ns}}}personCode").text = "010190-123M"
        message = build_request(client=TAX, service=service, query_id=str(uuid.uuid4()), body=body,
                                user_id="EE12345678901")
        response = httpx.post(world.gateway_of(TAX).is_url + "/", content=message,
                              headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=30)
        assert response.status_code == 200, response.text

    with tempfile.TemporaryDirectory() as tmp:
        world = build_world(Path(tmp), dt.datetime.now(dt.timezone.utc))
        try:
            for _ in range(5):
                call()
            counter.on = True
            call()
            counter.on = False
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
            world.close()

    print(f"code: {root}")
    print(f"one warm SOAP exchange (both gateways): {counter.calls} sild calls, "
          f"{counter.switches} module switches, {len(counter.modules)} modules")
    print("busiest module pairs (switches):")
    for (a, b), n in counter.pairs.most_common(args.top):
        print(f"  {n:4d}  {a} <-> {b}")


if __name__ == "__main__":
    main()
