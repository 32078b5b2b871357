"""SigningBatcher: alone a caller signs alone; callers that queue meanwhile share one batch."""

from __future__ import annotations

import threading
import time
from typing import Sequence

import pytest

from gateway.signing import MessageSignature
from gateway.signing._batch import SigningBatcher


class Recorder:
    """sign_one/sign_many that record their calls; signing b"first" can be held open."""

    def __init__(self, fail_batches: bool = False) -> None:
        self.calls: list[tuple[str, str, tuple[bytes, ...]]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.fail_batches = fail_batches
        self.lock = threading.Lock()

    def one(self, data: bytes, key: str) -> bytes:
        with self.lock:
            self.calls.append(("one", key, (data,)))
        if data == b"first":
            self.entered.set()
            self.hold.wait(10)
        return b"sig:" + data

    def many(self, items: Sequence[bytes], key: str) -> list[MessageSignature]:
        with self.lock:
            self.calls.append(("many", key, tuple(items)))
        if self.fail_batches:
            raise RuntimeError("token unavailable")
        joined = b"|".join(items)
        return [MessageSignature(b"batch:" + joined, b"result:" + joined, b"chain:" + item) for item in items]


def _run_concurrently(batcher: SigningBatcher[str, bytes], items: list[bytes], key: str = "m") -> dict[bytes, object]:
    out: dict[bytes, object] = {}

    def work(item: bytes) -> None:
        try:
            out[item] = batcher.sign(item, key)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            out[item] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in items]
    for t in threads:
        t.start()
        time.sleep(0.01)  # arrive in order
    return out, threads  # type: ignore[return-value]


def test_a_lone_caller_signs_alone_without_hash_chain() -> None:
    rec = Recorder()
    batcher: SigningBatcher[str, bytes] = SigningBatcher(rec.one, rec.many)
    sig = batcher.sign(b"a", "member")
    assert sig == MessageSignature(b"sig:a") and not sig.batch
    assert batcher.sign(b"b", "member").signature == b"sig:b"
    assert rec.calls == [("one", "member", (b"a",)), ("one", "member", (b"b",))]
    assert batcher.batches == 0 and batcher.messages == 2


def test_callers_queued_behind_a_signature_share_one_batch_in_order() -> None:
    rec = Recorder()
    rec.hold.clear()
    batcher: SigningBatcher[str, bytes] = SigningBatcher(rec.one, rec.many)
    first = threading.Thread(target=lambda: batcher.sign(b"first", "m"))
    first.start()
    assert rec.entered.wait(5)
    out, threads = _run_concurrently(batcher, [b"x", b"y", b"z"])
    rec.hold.set()
    first.join(5)
    for t in threads:
        t.join(5)
    assert rec.calls == [("one", "m", (b"first",)), ("many", "m", (b"x", b"y", b"z"))]
    for item in (b"x", b"y", b"z"):
        sig = out[item]
        assert isinstance(sig, MessageSignature) and sig.batch
        assert sig.signature == b"batch:x|y|z" and sig.hash_chain == b"chain:" + item
    assert batcher.batches == 1 and batcher.messages == 4


def test_batches_are_per_member_and_bounded() -> None:
    rec = Recorder()
    rec.hold.clear()
    batcher: SigningBatcher[str, bytes] = SigningBatcher(rec.one, rec.many, max_batch=2)
    first = threading.Thread(target=lambda: batcher.sign(b"first", "m"))
    first.start()
    assert rec.entered.wait(5)
    other = batcher.sign(b"other", "n")  # another member's key is not held up by m's queue
    assert other.signature == b"sig:other"
    out, threads = _run_concurrently(batcher, [b"a", b"b", b"c"])
    rec.hold.set()
    first.join(5)
    for t in threads:
        t.join(5)
    m_calls = [c for c in rec.calls if c[1] == "m"]
    assert m_calls[0] == ("one", "m", (b"first",))
    assert ("many", "m", (b"a", b"b")) in m_calls and ("one", "m", (b"c",)) in m_calls
    assert all(isinstance(out[i], MessageSignature) for i in (b"a", b"b", b"c"))


def test_a_failed_batch_fails_its_callers_and_the_queue_goes_on() -> None:
    rec = Recorder(fail_batches=True)
    rec.hold.clear()
    batcher: SigningBatcher[str, bytes] = SigningBatcher(rec.one, rec.many)
    first = threading.Thread(target=lambda: batcher.sign(b"first", "m"))
    first.start()
    assert rec.entered.wait(5)
    out, threads = _run_concurrently(batcher, [b"x", b"y"])
    rec.hold.set()
    first.join(5)
    for t in threads:
        t.join(5)
    assert all(isinstance(out[i], RuntimeError) for i in (b"x", b"y"))
    assert batcher.sign(b"later", "m").signature == b"sig:later"  # nobody is left holding the lead


def test_a_batch_must_give_one_signature_per_message() -> None:
    batcher: SigningBatcher[str, bytes] = SigningBatcher(lambda d, k: b"s", lambda items, k: [])
    with pytest.raises(ValueError):
        MessageSignature(b"s", hash_chain_result=b"r")
    assert batcher.sign(b"alone", "m").signature == b"s"
