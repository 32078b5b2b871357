"""Hash chains: X-Road's chains recompute; sild's chains verify for every batch size and
break on any change."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from trust.keys import DigestAlgorithm
from trust.xades import HashChainInput, build_hash_chains, verify_hash_chain
from trust.xades._hashchain import parse_result, step_digest
from trust.xades import HashChainBroken
from trust.xades._errors import HashChainUnusedInput

SHA512 = DigestAlgorithm.SHA512


def _entries(xroad: Path, name: str) -> dict[str, bytes]:
    with zipfile.ZipFile(xroad / "asic" / f"{name}.asice") as z:
        return {"/" + n: z.read(n) for n in z.namelist() if not n.endswith("/")}


@pytest.mark.parametrize(
    ("container", "result", "required"),
    [
        ("valid-signed-hashchain", "/sig-hashchainresult.xml", "/message.xml"),
        ("valid-batch-ts", "/ts-hashchainresult.xml", "/META-INF/signatures.xml"),
        ("valid-non-batch-rest", "/ts-hashchainresult.xml", "/META-INF/signatures.xml"),
        ("valid-non-batch-soap-attachments", "/ts-hashchainresult.xml", "/META-INF/signatures.xml"),
    ],
    ids=["signed-hashchain", "batch-ts", "rest-ts-3-steps", "soap-ts-2-steps"],
)
@pytest.mark.conformance(area="xades", vector="asic/{container}.asice",
                         expected="the chain {result} verifies and covers {required}")
def test_x_road_chains_verify(xroad: Path, container: str, result: str, required: str) -> None:
    entries = _entries(xroad, container)
    verified = verify_hash_chain(entries[result], entries.get, required=[required])
    assert required in verified.covered
    assert verified.root == parse_result(entries[result])[2]


@pytest.mark.conformance(area="xades", vector="asic/invalid-signed-hashchain.asice")
def test_x_road_chain_with_changed_message(xroad: Path) -> None:
    entries = _entries(xroad, "invalid-signed-hashchain")
    with pytest.raises(HashChainBroken):
        verify_hash_chain(entries["/sig-hashchainresult.xml"], entries.get, required=["/message.xml"])


@pytest.mark.conformance(area="xades")
def test_x_road_chain_that_skips_the_message(xroad: Path) -> None:
    entries = _entries(xroad, "invalid-hashchain-modified-message")
    with pytest.raises(HashChainUnusedInput):
        verify_hash_chain(entries["/sig-hashchainresult.xml"], entries.get, required=["/message.xml"])


def test_step_digest_is_der_sequence_of_items() -> None:
    d = bytes(range(64))
    uri = SHA512.value.encode()
    item = b"\x30" + bytes([2 + 64 + 2 + len(uri) + 2]) + b"\x04\x40" + d + b"\x0c" + bytes([len(uri)]) + uri + b"\x30\x00"
    assert step_digest([(d, SHA512.value)], SHA512) == SHA512.digest(b"\x30" + bytes([len(item)]) + item)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 16], ids=lambda n: f"leaves-{n}")
def test_round_trip_every_leaf(size: int) -> None:
    data = [f"record {i}".encode() for i in range(size)]
    batch = build_hash_chains([[HashChainInput("/META-INF/signatures.xml", SHA512.digest(d))] for d in data],
                              chain_uri="/ts-hashchain.xml")
    for d, chain in zip(data, batch.chains):
        entries = {"/ts-hashchain.xml": chain, "/META-INF/signatures.xml": d}
        verified = verify_hash_chain(batch.result_xml, entries.get, required=["/META-INF/signatures.xml"])
        assert verified.root == batch.root
    if size > 1:  # another record's data does not fit this chain
        entries = {"/ts-hashchain.xml": batch.chains[0], "/META-INF/signatures.xml": data[1]}
        with pytest.raises(HashChainBroken):
            verify_hash_chain(batch.result_xml, entries.get, required=["/META-INF/signatures.xml"])


def test_multi_input_leaves() -> None:
    leaves = [[HashChainInput("/message.xml", SHA512.digest(b"m%d" % i)),
               HashChainInput("/attachment1", SHA512.digest(b"a%d" % i))] for i in range(3)]
    batch = build_hash_chains(leaves)
    entries = {"/sig-hashchain.xml": batch.chains[2], "/message.xml": b"m2", "/attachment1": b"a2"}
    verified = verify_hash_chain(batch.result_xml, entries.get, required=["/message.xml", "/attachment1"])
    assert verified.covered == {"/message.xml", "/attachment1"}


@pytest.mark.parametrize(
    "damage",
    [
        lambda c: c.replace(b'id="STEP1"', b'id="STEP9"'),
        lambda c: c.replace(b'URI="#STEP1"', b'URI="#STEP0"'),
        lambda c: c.replace(b"<ns2:HashValue>", b"<ns2:Bogus>", 1).replace(b"</ns2:HashValue>", b"</ns2:Bogus>", 1),
        lambda c: c[:-20],
    ],
    ids=["missing-step", "cycle", "unknown-element", "truncated"],
)
def test_damaged_chains(damage: object) -> None:
    data = [b"a", b"b", b"c", b"d"]
    batch = build_hash_chains([[HashChainInput("/x", SHA512.digest(d))] for d in data])
    entries = {"/sig-hashchain.xml": damage(batch.chains[0]), "/x": b"a"}  # type: ignore[operator]
    with pytest.raises(HashChainBroken):
        verify_hash_chain(batch.result_xml, entries.get, required=["/x"])
