"""How fast sild makes and checks X-Road message signatures, against raw ``cryptography``.

Run: ``.venv/bin/python bench/signatures.py [--seconds 1.0]``

Prints, for RSA-2048 and ECDSA P-256 (SHA-512):

* raw ``cryptography`` sign rate over a precomputed digest (the baseline);
* XAdES signing, one signature per message (batch 1), and batched signing with a hash
  chain (batch 16 and 128: one private-key operation signs the whole batch), in
  *messages* per second, with the ratio to the raw sign rate;
* verification of a single-message signature: cryptography only (digests, C14N,
  signature value) and full (plus path validation and OCSP, with the gateway's
  validation cache, as on the hot path);
* the same two operations as a gateway runs them per exchange
  (:class:`gateway.signing._parts.XadesMessageSigning`: ``sign`` with the own OCSP
  response, ``verify`` with the memoised trust decision).

Each figure is the best of three runs of about ``--seconds`` of CPU time each, per
CPU-second of one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils  # noqa: E402

from gateway.signing import SignedParts
from gateway.signing import SignKey, XadesMessageSigning
from tests.support.evidence_pki import make_pki  # noqa: E402  (the test PKI: CA, OCSP, TSA, SoftToken)
from trust.protocol import MemberId
from trust.keys import DigestAlgorithm
from trust.protocol import SubsystemId
from trust.pki import ValidationCache
from trust.xades import SignedPart, create_signature, sign_batch
from trust.xades import check_cryptography, verify_signature

UTC = dt.timezone.utc
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MESSAGE = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
    b'xmlns:id="http://x-road.eu/xsd/identifiers" xmlns:xroad="http://x-road.eu/xsd/xroad.xsd"><SOAP-ENV:Header>'
    b'<xroad:client id:objectType="SUBSYSTEM"><id:xRoadInstance>DEV</id:xRoadInstance><id:memberClass>COM</id:memberClass>'
    b"<id:memberCode>4321</id:memberCode><id:subsystemCode>TestClient</id:subsystemCode></xroad:client>"
    b"<xroad:id>%08d</xroad:id><xroad:protocolVersion>4.0</xroad:protocolVersion></SOAP-ENV:Header>"
    b"<SOAP-ENV:Body><prod:getRandom xmlns:prod=\"http://test.x-road.global/producer\">" + b"x" * 1500 + b"</prod:getRandom>"
    b"</SOAP-ENV:Body></SOAP-ENV:Envelope>"
)


def rate(fn: Callable[[], int], seconds: float) -> float:
    """Best of three: units per CPU-second of this process, where ``fn`` returns how many
    units it did. CPU time, not wall time, so that other load on the machine (CI, other
    builds) inflates the figures as little as possible; everything here is single-threaded."""
    best = 0.0
    for _ in range(3):
        done = 0
        start = time.process_time()
        while (elapsed := time.process_time() - start) < seconds:
            done += fn()
        best = max(best, done / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pki = make_pki(Path(tmp))
        client = SubsystemId("DEV", "COM", "4321", "TestClient")
        policy = pki.policy()
        digest = DigestAlgorithm.SHA512.digest(b"bench")
        print(f"{'key':<12}{'what':<40}{'per CPU-s':>12}{'vs raw sign':>13}")
        for label, ecdsa in (("RSA-2048", False), ("ECDSA P-256", True)):
            key_id = "ec" if ecdsa else "rsa"
            cert = pki.issue_sign_cert(key_id, "COM", "4321", ecdsa=ecdsa)
            ocsp = [pki.ocsp(cert, AT)]
            private = pki.token._private_key(key_id)  # baseline only: the raw library call
            if isinstance(private, rsa.RSAPrivateKey):
                rsa_key = private

                def raw() -> int:
                    rsa_key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA512()))
                    return 1
            else:
                assert isinstance(private, ec.EllipticCurvePrivateKey)
                ec_key = private

                def raw() -> int:
                    ec_key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA512())))
                    return 1

            raw_rate = rate(raw, args.seconds)
            print(f"{label:<12}{'raw cryptography sign (digest)':<40}{raw_rate:>12,.0f}{1.0:>12.2f}x")

            counter = [0]

            def single() -> int:
                counter[0] += 1
                create_signature([SignedPart("/message.xml", data=MESSAGE % counter[0])], signer=pki.token,
                                 key_id=key_id, certificate=cert, signing_time=AT, ocsp_responses=ocsp)
                return 1

            r = rate(single, args.seconds)
            print(f"{label:<12}{'XAdES sign, batch 1 (messages)':<40}{r:>12,.0f}{r / raw_rate:>12.2f}x")
            for size in (16, 128):
                batch = [[SignedPart("/message.xml", data=MESSAGE % i)] for i in range(size)]

                def batched(batch: list[list[SignedPart]] = batch) -> int:
                    sign_batch(batch, signer=pki.token, key_id=key_id, certificate=cert, signing_time=AT,
                               ocsp_responses=ocsp)
                    return len(batch)

                r = rate(batched, args.seconds)
                print(f"{label:<12}{f'XAdES sign, batch {size} (messages)':<40}{r:>12,.0f}{r / raw_rate:>12.2f}x")

            message = MESSAGE % 1
            signature = create_signature([SignedPart("/message.xml", data=message)], signer=pki.token, key_id=key_id,
                                         certificate=cert, signing_time=AT, ocsp_responses=ocsp)
            parts = {"/message.xml": message}

            def crypto_only() -> int:
                check_cryptography(signature, parts)
                return 1

            cache = ValidationCache()

            def full() -> int:
                verify_signature(signature, parts, policy=policy, signer=client, at=AT, cache=cache)
                return 1

            r = rate(crypto_only, args.seconds)
            print(f"{label:<12}{'verify: digests + signature value':<40}{r:>12,.0f}{r / raw_rate:>12.2f}x")
            r = rate(full, args.seconds)
            print(f"{label:<12}{'verify: + chain, profile, OCSP (cached)':<40}{r:>12,.0f}{r / raw_rate:>12.2f}x")

            member = MemberId("DEV", "COM", "4321")
            gateway = XadesMessageSigning(pki.token, {member: SignKey(key_id, (cert, pki.root))},
                                          ocsp=lambda _key_id: ocsp, policy_for=lambda _instance, _at: policy,
                                          clock=lambda: AT)
            data = SignedParts((("text/xml", message),))
            gateway_signature = gateway.sign(data, member=member)

            def gateway_sign() -> int:
                gateway.sign(data, member=member)
                return 1

            def gateway_verify() -> int:
                gateway.verify(gateway_signature, data, signer=member, at=AT)
                return 1

            r = rate(gateway_sign, args.seconds)
            print(f"{label:<12}{'gateway sign (node_parts), 1 message':<40}{r:>12,.0f}{r / raw_rate:>12.2f}x")
            r = rate(gateway_verify, args.seconds)
            print(f"{label:<12}{'gateway verify (node_parts), 1 message':<40}{r:>12,.0f}{r / raw_rate:>12.2f}x")


if __name__ == "__main__":
    main()
