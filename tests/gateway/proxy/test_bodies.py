"""How the proxies read a request body: spooled past 1 MiB, refused at the limit, and
held in memory, while processed, only within a budget (issue 16)."""

from __future__ import annotations

import io
import threading
import time
import uuid
from typing import Any, Iterator

import httpx
import pytest
from lxml import etree

from trust.protocol import ServiceId, XRoadFault, build_request, parse_soap
from trust.protocol.mime import SPOOL_THRESHOLD

from gateway.proxy._wsgi import MessageBudget, held_body, read_body

from tests.gateway._world import TAX

MiB = 1 << 20


class CountingInput(io.RawIOBase):
    """``wsgi.input`` of ``size`` bytes that remembers how many were read and how large a read was."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.taken = 0
        self.largest = 0

    def read(self, n: int | None = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= n
        self.taken += n
        self.largest = max(self.largest, n)
        return b"x" * n


def _environ(stream: CountingInput, length: int | None = None) -> dict[str, Any]:
    return {"wsgi.input": stream, "CONTENT_LENGTH": "" if length is None else str(length)}


def test_a_body_past_the_threshold_is_spooled_to_a_file_in_chunks() -> None:
    stream = CountingInput(3 * MiB)
    body = read_body(_environ(stream), 64 * MiB)
    try:
        assert body.size == 3 * MiB and body.read() == b"x" * (3 * MiB)
        assert not isinstance(body._file, io.BytesIO)  # on disk, not in memory
        assert stream.largest <= 64 * 1024
    finally:
        body.close()


def test_a_small_body_stays_in_memory() -> None:
    body = read_body(_environ(CountingInput(1000), 1000), 64 * MiB)
    assert isinstance(body._file, io.BytesIO) and body.read() == b"x" * 1000


def test_a_chunked_body_over_the_limit_is_refused_as_the_limit_is_crossed() -> None:
    stream = CountingInput(200 * MiB)
    with pytest.raises(XRoadFault) as caught:
        read_body(_environ(stream), 4 * MiB)
    assert caught.value.fault_code == "invalid_message" and "larger than 4194304 bytes" in caught.value.message
    assert 4 * MiB < stream.taken <= 4 * MiB + 64 * 1024  # not one chunk more than needed


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    stream = CountingInput(200 * MiB)
    with pytest.raises(XRoadFault, match="larger than"):
        read_body(_environ(stream, 200 * MiB), 4 * MiB)
    assert stream.taken == 0


def test_a_declared_length_is_read_no_further() -> None:
    stream = CountingInput(5 * MiB)
    body = read_body(_environ(stream, 2 * MiB), 64 * MiB)
    assert body.size == 2 * MiB and stream.taken == 2 * MiB
    body.close()


def _holding(budget: MessageBudget, size: int, release: threading.Event, entered: threading.Event) -> None:
    with budget.hold(size):
        entered.set()
        release.wait(10)


def test_small_messages_never_wait_for_the_budget() -> None:
    budget = MessageBudget(4 * MiB, wait=5.0)
    release, entered = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holding, args=(budget, 4 * MiB, release, entered))
    holder.start()
    try:
        assert entered.wait(5)
        started = time.monotonic()
        with budget.hold(SPOOL_THRESHOLD):
            pass
        assert time.monotonic() - started < 1.0
    finally:
        release.set()
        holder.join()
    assert budget.held == 0


def test_a_large_message_beyond_the_budget_waits_then_is_refused_with_out_of_memory() -> None:
    budget = MessageBudget(4 * MiB, wait=0.2)
    release, entered = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holding, args=(budget, 2 * MiB, release, entered))
    holder.start()
    try:
        assert entered.wait(5)
        with pytest.raises(XRoadFault) as caught:
            with budget.hold(3 * MiB):
                pass
        assert caught.value.fault_code == "out_of_memory" and "retry" in caught.value.message
        with budget.hold(2 * MiB):  # what is left of the budget is still usable
            assert budget.held == 4 * MiB
    finally:
        release.set()
        holder.join()
    assert budget.held == 0


def test_a_waiting_large_message_goes_once_the_budget_is_given_back() -> None:
    budget = MessageBudget(4 * MiB, wait=10.0)
    release, entered = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holding, args=(budget, 3 * MiB, release, entered))
    holder.start()
    assert entered.wait(5)
    threading.Timer(0.2, release.set).start()
    with budget.hold(2 * MiB):
        assert budget.held == 2 * MiB
    holder.join()


def test_beyond_the_waiting_places_a_large_message_is_refused_at_once() -> None:
    budget = MessageBudget(4 * MiB, wait=10.0, waiting=1)
    release, entered = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holding, args=(budget, 4 * MiB, release, entered))
    holder.start()
    assert entered.wait(5)
    waiter = threading.Thread(target=_holding, args=(budget, 2 * MiB, release, threading.Event()))
    try:
        waiter.start()
        deadline = time.monotonic() + 5
        while budget.waiting == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(XRoadFault, match="retry"):
            with budget.hold(2 * MiB):
                pass
        assert time.monotonic() - started < 1.0
    finally:
        release.set()
        holder.join()
        waiter.join()
    assert budget.held == 0 and budget.waiting == 0


def test_a_message_larger_than_the_whole_budget_goes_alone() -> None:
    budget = MessageBudget(2 * MiB, wait=0.1)
    with budget.hold(8 * MiB):
        assert budget.held == 8 * MiB
    assert budget.held == 0


def test_the_held_body_is_released_when_processing_fails() -> None:
    budget = MessageBudget(64 * MiB)
    with pytest.raises(RuntimeError):
        with held_body(_environ(CountingInput(3 * MiB)), 64 * MiB, budget) as body:
            assert len(body.read()) == 3 * MiB and budget.held == 3 * MiB
            raise RuntimeError("processing failed")
    assert budget.held == 0


def _chunks(data: bytes) -> Iterator[bytes]:
    for at in range(0, len(data), 256 * 1024):
        yield data[at:at + 256 * 1024]


def test_an_exchange_with_a_3_mib_message_sent_chunked_is_answered(world: Any) -> None:
    """A legitimately large message (spooled on both gateways, held within the budget) still
    goes through, streamed by the IS without a length."""
    service = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
    body = etree.Element("{http://vero.sandbox.sild.eu/producer}getTaxRecord")
    etree.SubElement(body, "{http://vero.sandbox.sild.eu/producer}personCode").text = "010190-123M"
    body.append(etree.Comment("x" * (3 * MiB)))  # what the backend ignores, and every hop signs and logs
    soap = build_request(client=TAX, service=service, query_id=str(uuid.uuid4()), body=body, user_id="EE12345678901")
    gw = world.gateway_of(TAX)
    resp = httpx.post(gw.is_url + "/", content=_chunks(soap), headers={"Content-Type": "text/xml"}, timeout=60)
    assert resp.status_code == 200, resp.text[:500]
    answer = parse_soap(resp.content, resp.headers["content-type"], role="response")
    assert answer.header.service == service and b"010190-123M" in resp.content
    assert gw.client_proxy.budget.held == 0


def test_a_large_message_beyond_a_full_budget_gets_out_of_memory_and_a_small_one_is_answered(world: Any) -> None:
    """The IS sees the refusal as an X-Road fault of its own gateway, and nothing was sent
    on; a small exchange meanwhile does not wait for the budget."""
    gw = world.gateway_of(TAX)
    kept = gw.client_proxy.budget
    gw.client_proxy.budget = MessageBudget(4 * MiB, wait=0.2)
    release, entered = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holding, args=(gw.client_proxy.budget, 4 * MiB, release, entered))
    holder.start()
    try:
        assert entered.wait(5)
        resp = httpx.post(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M", content=b"{}" * MiB,
                          headers={"X-Road-Client": TAX.to_text(), "Content-Type": "application/json"}, timeout=30)
        assert resp.status_code == 500 and resp.headers["x-road-error"] == "server.clientproxy.out_of_memory"
        small = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                          headers={"X-Road-Client": TAX.to_text()}, timeout=30)
        assert small.status_code == 200, small.text
    finally:
        release.set()
        holder.join()
        gw.client_proxy.budget = kept
