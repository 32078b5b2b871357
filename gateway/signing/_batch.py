"""Batch signing on the hot path: concurrent messages of one member share one signature.

Every message a gateway sends is signed with its member's sign key, and the private
key operation (RSA-2048: ~250 us of CPU) is the largest single cost of an exchange
after Python's own request handling. X-Road's answer, which sild follows, is the
batch signature (NOTES 7): when several messages of one member wait to be signed at
the same moment, a hash tree is built over all of them, its root
(``/hashchainresult``) is signed once, and each message travels with the common
signature, the result and its own ``/hashchain`` path. The receiving gateway checks
its message's path up to the signed root, so a batch signature proves exactly as
much per message as a single one.

The batching here never waits for company (no timer, no added latency): the first
caller for a member becomes the *leader* and signs what is queued at that moment,
alone if it is alone, so a single client pays exactly one ordinary signature. Callers
that arrive while the leader is signing queue up; when the leader is done it hands
the leadership to the oldest of them, which signs the whole queue in one operation.
Under load the batches grow by themselves, as in group commit.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Generic, Hashable, Sequence, TypeVar

from gateway.errors import GatewayError

Data = TypeVar("Data")
Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class MessageSignature:
    """A message's signature XML and, when it was signed in a batch, its hash chain."""

    signature: bytes
    hash_chain_result: bytes | None = None
    hash_chain: bytes | None = None

    def __post_init__(self) -> None:
        if (self.hash_chain is None) != (self.hash_chain_result is None):
            raise ValueError("hash chain and hash chain result go together")

    @property
    def batch(self) -> bool:
        return self.hash_chain is not None


class BatchSigningError(GatewayError):
    code = "gateway.signing.batch_failed"


@dataclass(eq=False)
class _Request(Generic[Data]):
    data: Data
    # made only for a caller that waits: a leader signs its own message and needs none
    # (an Event is a lock and a condition, and its ``set`` a notify: ~3 us per message)
    done: threading.Event | None = None
    lead: bool = False  # set with ``done`` when the request is handed the leadership
    result: MessageSignature | None = None
    error: BaseException | None = None


@dataclass(eq=False)
class _Queue(Generic[Data]):
    pending: deque[_Request[Data]] = field(default_factory=deque)
    busy: bool = False


class SigningBatcher(Generic[Key, Data]):
    """Signs through ``sign_one`` alone, or ``sign_many`` for a batch, per key (member).

    ``sign_many(items, key)`` returns one :class:`MessageSignature` per item, in order,
    each with its hash chain. ``max_batch`` bounds a batch (and so the hash tree).
    """

    def __init__(self, sign_one: Callable[[Data, Key], bytes],
                 sign_many: Callable[[Sequence[Data], Key], Sequence[MessageSignature]], *,
                 max_batch: int = 128) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be positive")
        self._sign_one = sign_one
        self._sign_many = sign_many
        self._max_batch = max_batch
        self._queues: dict[Key, _Queue[Data]] = {}
        self._lock = threading.Lock()
        self.batches = 0  # operations that signed more than one message
        self.messages = 0

    def sign(self, data: Data, key: Key) -> MessageSignature:
        """The signature for ``data``; returns when it is made (alone or in a batch)."""
        request: _Request[Data] = _Request(data)
        with self._lock:
            queue = self._queues.setdefault(key, _Queue())
            leader = not queue.busy
            if not leader:
                request.done = threading.Event()
            queue.pending.append(request)
            queue.busy = True
        if request.done is not None:
            request.done.wait()
            if request.lead:  # the previous leader handed over: sign the queue
                self._lead(queue, key)
        elif request.result is None and request.error is None:
            self._lead(queue, key)
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _lead(self, queue: _Queue[Data], key: Key) -> None:
        with self._lock:
            count = min(len(queue.pending), self._max_batch)
            batch = [queue.pending.popleft() for _ in range(count)]
        try:
            if len(batch) == 1:
                results: Sequence[MessageSignature] = [MessageSignature(self._sign_one(batch[0].data, key))]
            else:
                results = self._sign_many([r.data for r in batch], key)
                if len(results) != len(batch):
                    raise BatchSigningError(f"batch signing gave {len(results)} signatures for {len(batch)} messages")
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the failure
            for r in batch:
                r.error = exc
        else:
            for r, result in zip(batch, results):
                r.result = result
        with self._lock:
            self.messages += len(batch)
            self.batches += len(batch) > 1
            successor = queue.pending[0] if queue.pending else None
            if successor is None:
                queue.busy = False
            else:
                successor.lead = True
        for r in batch:
            if r.done is not None:
                r.done.set()
        if successor is not None:
            assert successor.done is not None  # it was queued behind a leader
            successor.done.set()
