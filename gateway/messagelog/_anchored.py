"""Evidence that verifies with the authority's anchor alone: the whole chain, offline.

Why: ``verify_container`` needs trust policies, and an auditor years later has no
trustworthy configuration tree of the time -- only the anchor the authority published
(its fingerprint printed in the gazette, kept by the gateway's operator). A container
exported with ``carry`` holds the signed configuration directories in force when the
message was logged (``META-INF/verificationconf/<INSTANCE>/directory`` and
``shared-params.xml``, the exact downloaded bytes). This module checks, in order:

1. **message signature** -- the container is intact (``trust.evidence.check_integrity``:
   hash chains, reference digests, signature value), before any trust is decided;
2. **anchor** -- each needed instance's directory is signed with a key its anchor lists
   (the signer's instance and the logging gateway's, whose TSA stamped it);
3. **configuration** -- the carried shared parameters are the bytes the signed directory
   pins, of the instance it names;
4. **member** -- the signer is a member (and subsystem) in that configuration;
5. **timestamp / certificate / OCSP** -- ``verify_container`` with the trust policies of
   those configurations: approved TSA, certificate path to an approved CA, OCSP, signer
   profile, all as of the evidence time;
6. **configuration** -- the directory was still valid at the evidence time.

Each failure is one :class:`EvidenceChainBroken` whose message starts with the link.
Several anchors of one instance may be given (before and after a key rotation): the
one whose key signed the directory is used.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from federation.anchor import AnchorFile
from federation.directory import SignedDirectory, parse_directory, parse_part, verify_signature
from federation.model import SHARED_PARAMETERS, SharedParameters
from trust.errors import SildError
from trust.evidence import AsicContainer, VerifiedContainer, check_integrity, read_container, verify_container
from trust.protocol import ClientId, SubsystemId

from ._archive_check import ArchiveError

_LINKS = (  # error code prefixes -> the link of the chain they break
    ("trust.evidence.", "timestamp"),
    ("trust.signature.revoked", "OCSP"), ("trust.signature.ocsp", "OCSP"),
    ("trust.signature.untrusted_chain", "certificate"), ("trust.signature.certificate_usage", "certificate"),
    ("trust.signature.signer_mismatch", "member"),
    ("trust.signature.", "message signature"),
    ("trust.asic.", "container"),
)


class EvidenceChainBroken(ArchiveError):
    """One link of anchor -> configuration -> CA/TSA/member -> certificate/OCSP/timestamp -> signature failed."""

    code = "gateway.evidence.chain_broken"

    def __init__(self, link: str, message: str, cause: str | None = None) -> None:
        super().__init__(f"{link}: {message}" + (f" [{cause}]" if cause else ""))
        self.link = link


@dataclass(frozen=True)
class CarriedConfiguration:
    """One instance's carried configuration, verified against an anchor."""

    instance: str
    anchor: AnchorFile
    directory: SignedDirectory
    shared: SharedParameters


@dataclass(frozen=True)
class AnchoredEvidence:
    container: VerifiedContainer
    configurations: Mapping[str, CarriedConfiguration]

    @property
    def signer(self) -> ClientId:
        return self.container.signer

    def describe(self) -> list[str]:
        lines = [f"configuration {c.instance}: signed with a key of anchor {c.anchor.fingerprint[:23]}... "
                 f"(valid until {c.directory.expire_date.isoformat()})" for c in self.configurations.values()]
        return lines + self.container.describe()


def _link_of(exc: SildError) -> str:
    for prefix, link in _LINKS:
        if any(code.startswith(prefix) for code in exc.codes()):
            return link
    return "evidence"


def _broken(exc: SildError) -> EvidenceChainBroken:
    return EvidenceChainBroken(_link_of(exc), str(exc), exc.code)


def _cert_hashes(anchor: AnchorFile, directory: SignedDirectory) -> str:
    algorithm = directory.verification_cert_hash_algorithm
    return ", ".join(base64.b64encode(algorithm.digest(der)).decode()[:16] + "..."
                     for der in anchor.anchor.verification_certs())


def _signed_by(instance: str, directory: SignedDirectory, anchors: Sequence[AnchorFile]) -> AnchorFile:
    """The anchor whose key signed ``directory``; a message naming the mismatch otherwise."""
    mine = [a for a in anchors if a.anchor.instance == instance]
    if not mine:
        raise EvidenceChainBroken("anchor", f"no anchor of instance {instance} given; the evidence needs the "
                                  f"configuration of {instance} (give its anchor with --anchor)")
    reasons = []
    for anchor in mine:
        try:
            verify_signature(directory, anchor.anchor)
            return anchor
        except SildError as exc:
            if exc.code == "federation.conf.unknown_verification_cert":
                reasons.append(f"anchor {anchor.fingerprint[:23]}... lists the key(s) {_cert_hashes(anchor, directory)}")
            else:
                reasons.append(f"with anchor {anchor.fingerprint[:23]}...: {exc} [{exc.code}]")
    signed = base64.b64encode(directory.verification_cert_hash).decode()[:16]
    raise EvidenceChainBroken("anchor", f"the configuration directory of {instance} carried in the container is signed "
                              f"with the key {signed}... but " + "; ".join(reasons)
                              + " (an anchor of another period, or an altered directory)")


def _configuration(instance: str, carried: Mapping[str, bytes], anchors: Sequence[AnchorFile]) -> CarriedConfiguration:
    raw = carried.get(f"{instance}/directory")
    shared_bytes = carried.get(f"{instance}/shared-params.xml")
    if raw is None or shared_bytes is None:
        raise EvidenceChainBroken("configuration", f"the container carries no signed configuration of {instance} "
                                  "(exported before it was kept, or by an older sild: verify with --conf)")
    try:
        directory = parse_directory(raw)
    except SildError as exc:
        raise EvidenceChainBroken("configuration", f"the carried directory of {instance} is unreadable: {exc}",
                                  exc.code) from exc
    anchor = _signed_by(instance, directory, anchors)
    entry = next((p for p in directory.parts if p.content_identifier == SHARED_PARAMETERS
                  and p.instance in (instance, None)), None)
    if entry is None or entry.hash_algorithm.digest(shared_bytes) != entry.digest:
        raise EvidenceChainBroken("configuration", f"the carried shared parameters of {instance} are not the ones "
                                  "the signed directory pins (altered)")
    try:
        shared = parse_part(SHARED_PARAMETERS, shared_bytes, directory.version)
    except SildError as exc:
        raise EvidenceChainBroken("configuration", f"shared parameters of {instance}: {exc}", exc.code) from exc
    if not isinstance(shared, SharedParameters) or shared.instance != instance:
        raise EvidenceChainBroken("configuration", f"the carried shared parameters are not those of {instance}")
    return CarriedConfiguration(instance, anchor, directory, shared)


def _check_member(signer: ClientId, shared: SharedParameters) -> None:
    for member in shared.members:
        if member.member_id(shared.instance) == signer.member:
            if not isinstance(signer, SubsystemId) or any(s.code == signer.subsystem_code for s in member.subsystems):
                return
    raise EvidenceChainBroken("member", f"{signer.to_text()} is not a member in the configuration of "
                              f"{shared.instance} carried for the time of the message")


def verify_with_anchors(
    data: bytes | AsicContainer, anchors: Sequence[AnchorFile], *, require_timestamp: bool = False,
) -> AnchoredEvidence:
    """Verify a container from the anchor(s) on: see the module docstring for the order."""
    try:
        container = data if isinstance(data, AsicContainer) else read_container(data)
        identity = check_integrity(container)
    except SildError as exc:
        raise _broken(exc) from exc
    carried = container.carried_configuration()
    logged_by = carried.get("instance-identifier", b"").decode("ascii", "replace").strip()
    needed = [identity.signer.instance] + ([logged_by] if logged_by and logged_by != identity.signer.instance else [])
    confs = {inst: _configuration(inst, carried, anchors) for inst in needed}
    _check_member(identity.signer, confs[identity.signer.instance].shared)
    policies: dict[str, Any] = {inst: c.shared.to_trust_policy() for inst, c in confs.items()}
    try:
        verified = verify_container(container, policies, require_timestamp=require_timestamp)
    except SildError as exc:
        raise _broken(exc) from exc
    for conf in confs.values():
        if verified.evidence_time >= conf.directory.expire_date:
            raise EvidenceChainBroken("configuration", f"the carried configuration of {conf.instance} expired at "
                                      f"{conf.directory.expire_date.isoformat()}, before the evidence time "
                                      f"{verified.evidence_time.isoformat()}")
    return AnchoredEvidence(verified, confs)


def anchored_check(anchors: Sequence[AnchorFile]) -> Any:
    """A per-container check for ``check_archives(verify=...)``: the signer once the whole chain holds."""

    def check(data: bytes, require_timestamp: bool) -> str:
        return verify_with_anchors(data, anchors, require_timestamp=require_timestamp).signer.to_text()

    return check

