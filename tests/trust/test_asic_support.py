"""Test helper: a TrustPolicy for X-Road's ``globalconf_good2_v3`` tree, read from the files.

Loading configuration into trust policies is federation's job (``federation.conftree``);
``trust`` tests may not import federation, so this reads only what the ASiC vectors
need: approved CAs (top CA, intermediates, OCSP responders, certificate profile),
approved TSAs and ``ocspFreshnessSeconds`` of one instance's shared parameters.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography import x509

from trust.approved import ApprovedCa, ApprovedTsa, OcspResponderInfo, TrustPolicy
from trust.safexml import parse_xml


def _cert(text: str | None) -> x509.Certificate:
    raw = base64.b64decode("".join((text or "").split()))
    if raw.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def policy_from_shared_params(path: Path) -> TrustPolicy:
    root = parse_xml(path.read_bytes(), what="shared parameters")
    cas = []
    for ca in root.findall("approvedCA"):
        top = ca.find("topCA")
        assert top is not None
        responders = tuple(
            OcspResponderInfo(o.findtext("url") or "", _cert(o.findtext("cert")) if o.findtext("cert") else None)
            for o in [*top.findall("ocsp"), *[x for i in ca.findall("intermediateCA") for x in i.findall("ocsp")]]
        )
        cas.append(
            ApprovedCa(
                name=ca.findtext("name") or "",
                top_cert=_cert(top.findtext("cert")),
                intermediates=tuple(_cert(i.findtext("cert")) for i in ca.findall("intermediateCA")),
                ocsp_responders=responders,
                authentication_only=(ca.findtext("authenticationOnly") or "false").strip() == "true",
                certificate_profile=(ca.findtext("certificateProfileInfo") or "").strip(),
            )
        )
    tsas = tuple(
        ApprovedTsa(t.findtext("name") or "", t.findtext("url") or "", _cert(t.findtext("cert")))
        for t in root.findall("approvedTSA")
    )
    freshness = root.findtext("globalSettings/ocspFreshnessSeconds")
    return TrustPolicy(
        instance=(root.findtext("instanceIdentifier") or "").strip(),
        cas=tuple(cas),
        tsas=tsas,
        ocsp_freshness_seconds=int(freshness) if freshness else 3600,
    )


def policies_for_tree(tree: Path) -> dict[str, TrustPolicy]:
    """Every instance directory with a shared-params.xml under an X-Road configuration tree."""
    result = {}
    for shared in sorted(tree.glob("*/shared-params.xml")):
        policy = policy_from_shared_params(shared)
        result[policy.instance] = policy
    return result
