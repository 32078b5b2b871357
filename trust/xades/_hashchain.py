"""X-Road hash chains: one signature or one timestamp over many inputs.

A hash chain lets one private-key operation (or one TSA request) cover many items
while each item keeps a small, independently checkable proof. X-Road uses them for

* *signed* hash chains: one XAdES signature over ``/sig-hashchainresult.xml``, each
  message keeping ``sig-hashchain.xml`` with the path from the result to its own parts
  (``/message.xml``, ``/attachment1`` ...);
* *batch timestamps*: the TSA stamps ``/ts-hashchainresult.xml`` (a Merkle root over
  the ``signaturehash`` of many message-log records) and each record keeps
  ``ts-hashchain.xml`` leading to its ``/META-INF/signatures.xml``.

Format (namespace ``http://cyber.ee/hashchain``, schema ``hashchain.xsd``): a
``HashChainResult`` names the first step (``URI="/sig-hashchain.xml#STEP0"``) and its
digest; every ``HashStep`` lists items in order -- ``HashValue`` (a sibling's digest),
``StepRef`` (the digest of another step) or ``DataRef`` (the digest of data in the
container). A step's digest is ``H(DER SEQUENCE OF SEQUENCE{OCTET STRING digest,
UTF8String digestMethodURI, SEQUENCE{}})`` over its items in document order
[NOTES 7, checked against X-Road's containers].

Verification recomputes everything from the bytes: a ``DataRef`` whose data is in the
container must match it, and the inputs the caller requires (the message) must be
reached by the chain; otherwise a hash chain could "cover" a message it never names.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Callable, Collection, Sequence

from lxml import etree

from trust.keys import DigestAlgorithm
from trust.errors import TrustError
from trust.infra import parse_xml
from ._errors import HashChainBroken, HashChainUnusedInput

HASHCHAIN_NS = "http://cyber.ee/hashchain"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"

SIG_HASH_CHAIN_RESULT = "/sig-hashchainresult.xml"
SIG_HASH_CHAIN = "/sig-hashchain.xml"
TS_HASH_CHAIN_RESULT = "/ts-hashchainresult.xml"
TS_HASH_CHAIN = "/ts-hashchain.xml"

_MAX_CHAIN_BYTES = 4 * 1024 * 1024
_MAX_STEPS = 256


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def step_digest(items: Sequence[tuple[bytes, str]], algorithm: DigestAlgorithm) -> bytes:
    """Digest of one hash step over ``(digest, digestMethodURI)`` items in order."""
    encoded = b"".join(
        _tlv(0x30, _tlv(0x04, value) + _tlv(0x0C, uri.encode("utf-8")) + _tlv(0x30, b"")) for value, uri in items
    )
    return algorithm.digest(_tlv(0x30, encoded))


@dataclass(frozen=True)
class HashChainInput:
    """One piece of data a chain covers: its URI in the container and its digest."""

    uri: str
    digest: bytes

    def __post_init__(self) -> None:
        if not self.uri.startswith("/"):
            raise ValueError("hash chain data URIs are absolute container paths such as /message.xml")


@dataclass(frozen=True)
class HashChainBatch:
    """What :func:`build_hash_chains` makes: one result shared by all leaves, one chain per leaf."""

    result_xml: bytes
    chains: tuple[bytes, ...]
    root: bytes
    algorithm: DigestAlgorithm


@dataclass(frozen=True)
class VerifiedHashChain:
    """A hash chain whose steps were recomputed and whose result matched."""

    root: bytes
    algorithm: DigestAlgorithm
    covered: frozenset[str]
    unresolved: tuple[tuple[str, bytes], ...]


# -- building ---------------------------------------------------------------------------------

@dataclass
class _Node:
    digest: bytes
    lo: int  # leaves lo..hi-1 are below this node (pairing keeps leaves in order)
    hi: int
    leaf: int | None = None
    left: "_Node | None" = None
    right: "_Node | None" = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _digest_value(indent: str, value: bytes) -> str:
    return f"{indent}<DigestValue>{_b64(value)}</DigestValue>\n"


def build_hash_chains(
    leaves: Sequence[Sequence[HashChainInput]],
    *,
    algorithm: DigestAlgorithm = DigestAlgorithm.SHA512,
    chain_uri: str = SIG_HASH_CHAIN,
) -> HashChainBatch:
    """Build a Merkle tree over ``leaves`` (each the inputs of one record) and its chains.

    A leaf with one input is that input's digest; a leaf with several inputs (a message
    and its attachments) is a step over them. Output is laid out as X-Road's JAXB writer
    lays it out, so sild's containers look like X-Road's.
    """
    if not leaves or any(not leaf for leaf in leaves):
        raise TrustError("a hash chain needs at least one leaf with at least one input", code="trust.hashchain.empty")
    uri = algorithm.value
    level = [
        _Node(
            leaf[0].digest if len(leaf) == 1 and len(leaves) > 1 else step_digest([(i.digest, uri) for i in leaf], algorithm),
            n, n + 1, leaf=n,
        )
        for n, leaf in enumerate(leaves)
    ]
    while len(level) > 1:
        nxt: list[_Node] = []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):
                nxt.append(level[i])
                continue
            left, right = level[i], level[i + 1]
            nxt.append(
                _Node(step_digest([(left.digest, uri), (right.digest, uri)], algorithm), left.lo, right.hi, left=left, right=right)
            )
        level = nxt
    root = level[0]
    result = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<ns2:HashChainResult URI="{chain_uri}#STEP0" xmlns="{DS_NS}" xmlns:ns2="{HASHCHAIN_NS}">\n'
        f'    <DigestMethod Algorithm="{uri}"/>\n'
        + _digest_value("    ", root.digest)
        + "</ns2:HashChainResult>\n"
    ).encode("utf-8")
    chains = tuple(_chain_for(root, n, leaves[n], uri) for n in range(len(leaves)))
    return HashChainBatch(result_xml=result, chains=chains, root=root.digest, algorithm=algorithm)


def _chain_for(root: _Node, index: int, inputs: Sequence[HashChainInput], uri: str) -> bytes:
    steps: list[str] = []

    def data_refs(indent: str) -> str:
        return "".join(
            f'{indent}<ns2:DataRef URI="{i.uri}">\n' + _digest_value(indent + "    ", i.digest) + f"{indent}</ns2:DataRef>\n"
            for i in inputs
        )

    node = root
    while True:
        sid = len(steps)
        body = ""
        if node.leaf is not None:  # a step over the leaf's own inputs
            body = data_refs("        ")
            steps.append(f'    <ns2:HashStep id="STEP{sid}">\n{body}    </ns2:HashStep>\n')
            break
        assert node.left is not None and node.right is not None
        on_path = node.left if node.left.lo <= index < node.left.hi else node.right
        nxt: _Node | None = None
        for child in (node.left, node.right):
            if child is not on_path:
                body += "        <ns2:HashValue>\n" + _digest_value("            ", child.digest) + "        </ns2:HashValue>\n"
            elif child.leaf is not None and len(inputs) == 1:
                body += data_refs("        ")
            else:
                body += f'        <ns2:StepRef URI="#STEP{sid + 1}"/>\n'
                nxt = child
        steps.append(f'    <ns2:HashStep id="STEP{sid}">\n{body}    </ns2:HashStep>\n')
        if nxt is None:
            break
        node = nxt
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<ns2:HashChain xmlns="{DS_NS}" xmlns:ns2="{HASHCHAIN_NS}">\n'
        f'    <ns2:DefaultDigestMethod Algorithm="{uri}"/>\n' + "".join(steps) + "</ns2:HashChain>\n"
    ).encode("utf-8")


# -- verification -----------------------------------------------------------------------------

def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _decode_b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HashChainBroken(f"{what}: digest value is not base64") from exc


def _algorithm_of(element: etree._Element, default: DigestAlgorithm | None, what: str) -> DigestAlgorithm:
    method = element.find(_q(DS_NS, "DigestMethod"))
    if method is None:
        if default is None:
            raise HashChainBroken(f"{what}: no digest method")
        return default
    try:
        return DigestAlgorithm.from_uri(method.get("Algorithm") or "")
    except TrustError as exc:
        raise HashChainBroken(f"{what}: {exc}") from exc


def parse_result(result_xml: bytes, *, what: str = "hash chain result") -> tuple[str, DigestAlgorithm, bytes]:
    """Read a ``HashChainResult``: (URI of the first step, digest algorithm, digest)."""
    try:
        root = parse_xml(result_xml, max_bytes=_MAX_CHAIN_BYTES, what=what)
    except TrustError as exc:
        raise HashChainBroken(f"{what} is not well-formed: {exc}") from exc
    if root.tag != _q(HASHCHAIN_NS, "HashChainResult"):
        raise HashChainBroken(f"{what} is not a HashChainResult")
    uri = root.get("URI") or ""
    alg = _algorithm_of(root, None, what)
    value = root.find(_q(DS_NS, "DigestValue"))
    if value is None:
        raise HashChainBroken(f"{what} has no DigestValue")
    return uri, alg, _decode_b64(value.text, what)


def verify_hash_chain(
    result_xml: bytes,
    resolve: Callable[[str], bytes | None],
    *,
    required: Collection[str] = (),
    what: str = "hash chain",
) -> VerifiedHashChain:
    """Recompute a hash chain from its result down to its data and check every link.

    ``resolve(uri)`` returns the bytes of a container entry (``/sig-hashchain.xml``,
    ``/message.xml``) or ``None`` when the container does not hold it; data that is
    not held (other records of a batch) counts only by the digest the chain states.
    Every URI in ``required`` must be reached by a ``DataRef`` and match its data.
    """
    first, result_alg, expected = parse_result(result_xml, what=f"{what} result")
    path, _, fragment = first.partition("#")
    if not path or not fragment:
        raise HashChainBroken(f"{what} result URI {first!r} does not name a chain file and step")
    steps, default = _load_chain(resolve, path, result_alg, what)
    walk = _ChainWalk(steps, default, resolve, what)
    root = walk.compute(fragment)
    if root != expected:
        raise HashChainBroken(f"{what} does not compute to the digest in its result")
    missing = sorted(set(required) - walk.covered)
    if missing:
        raise HashChainUnusedInput(f"{what} does not cover {', '.join(missing)}")
    return VerifiedHashChain(
        root=root, algorithm=default, covered=frozenset(walk.covered), unresolved=tuple(walk.unresolved)
    )


def _load_chain(
    resolve: Callable[[str], bytes | None], path: str, result_alg: DigestAlgorithm, what: str
) -> tuple[dict[str | None, etree._Element], DigestAlgorithm]:
    """The chain file the result names: its steps by id and its default digest method."""
    chain_bytes = resolve(path)
    if chain_bytes is None:
        raise HashChainBroken(f"{what} file {path} is missing")
    try:
        chain = parse_xml(chain_bytes, max_bytes=_MAX_CHAIN_BYTES, what=f"{what} {path}")
    except TrustError as exc:
        raise HashChainBroken(f"{what} {path} is not well-formed: {exc}") from exc
    if chain.tag != _q(HASHCHAIN_NS, "HashChain"):
        raise HashChainBroken(f"{what} {path} is not a HashChain")
    default_el = chain.find(_q(HASHCHAIN_NS, "DefaultDigestMethod"))
    default = result_alg
    if default_el is not None:
        default = _algorithm_of_method(default_el, what)
    steps = {step.get("id"): step for step in chain.findall(_q(HASHCHAIN_NS, "HashStep"))}
    if len(steps) > _MAX_STEPS:
        raise HashChainBroken(f"{what} has more than {_MAX_STEPS} steps")
    return steps, default


class _ChainWalk:
    """One descent through a chain's steps: what data it reached and what it could not."""

    def __init__(
        self,
        steps: dict[str | None, etree._Element],
        default: DigestAlgorithm,
        resolve: Callable[[str], bytes | None],
        what: str,
    ) -> None:
        self.steps = steps
        self.default = default
        self.resolve = resolve
        self.what = what
        self.covered: set[str] = set()
        self.unresolved: list[tuple[str, bytes]] = []
        self.visiting: set[str] = set()

    def compute(self, step_id: str) -> bytes:
        """The digest of one step, its step references computed first (no cycles)."""
        what = self.what
        step = self.steps.get(step_id)
        if step is None:
            raise HashChainBroken(f"{what} refers to step {step_id!r} that it does not contain")
        if step_id in self.visiting:
            raise HashChainBroken(f"{what} step {step_id!r} refers to itself")
        self.visiting.add(step_id)
        items: list[tuple[bytes, str]] = []
        for item in step:
            if not isinstance(item.tag, str):
                continue
            alg = _algorithm_of(item, self.default, what)
            if item.tag == _q(HASHCHAIN_NS, "HashValue"):
                items.append((_decode_b64(item.findtext(_q(DS_NS, "DigestValue")), what), alg.value))
            elif item.tag == _q(HASHCHAIN_NS, "StepRef"):
                ref = item.get("URI") or ""
                if not ref.startswith("#"):
                    raise HashChainBroken(f"{what}: StepRef {ref!r} must point into the same chain")
                items.append((self.compute(ref[1:]), alg.value))
            elif item.tag == _q(HASHCHAIN_NS, "DataRef"):
                items.append((self._data_ref(item, alg), alg.value))
            else:
                raise HashChainBroken(f"{what}: unexpected element {etree.QName(item).localname} in a HashStep")
        self.visiting.discard(step_id)
        if not items:
            raise HashChainBroken(f"{what} step {step_id!r} is empty")
        return step_digest(items, self.default)

    def _data_ref(self, item: etree._Element, alg: DigestAlgorithm) -> bytes:
        """The digest a ``DataRef`` states, checked against its data when the container holds it."""
        what = self.what
        if item.find(_q(DS_NS, "Transforms")) is not None:
            raise HashChainBroken(f"{what}: transforms on DataRef are not supported")
        uri = item.get("URI") or ""
        stated = _decode_b64(item.findtext(_q(DS_NS, "DigestValue")), what)
        data = self.resolve(uri)
        if data is None:
            self.unresolved.append((uri, stated))
        elif alg.digest(data) != stated:
            raise HashChainBroken(f"{what}: digest of {uri} does not match the data in the container")
        else:
            self.covered.add(uri)
        return stated


def _algorithm_of_method(element: etree._Element, what: str) -> DigestAlgorithm:
    try:
        return DigestAlgorithm.from_uri(element.get("Algorithm") or "")
    except TrustError as exc:
        raise HashChainBroken(f"{what}: {exc}") from exc
