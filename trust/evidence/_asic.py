"""ASiC-E containers of message-log evidence: writing and verifying.

A container is what an auditor receives years after the exchange: the message exactly
as signed, its attachments, the signature, any hash chains, and the timestamp. sild
writes containers as X-Road's message log exports them (``mimetype`` first and
stored, ``message.xml``, ``META-INF/signatures.xml``, ``sig-hashchain*.xml``,
``ts-hashchain*.xml``, ``META-INF/manifest.xml``, ``META-INF/ASiCManifest.xml``,
``META-INF/timestamp.tst``, ``attachmentN``), so X-Road's verifier reads them too.

Verification happens *at the time the evidence was made*: the timestamp's genTime
(or, without a timestamp, the signing time), so an old container stays verifiable
after its certificates expire. The verifier is given one :class:`TrustPolicy` per
instance -- it does not read global configuration itself -- and picks the policy of
the member that must have signed (client for requests, provider for responses).
Anything in the container that neither the signature nor the timestamp covers is
refused, so nothing unsigned can pass as evidence -- except the signed configuration
carried under ``META-INF/verificationconf/``, which the authority's signature covers
and which only a verifier given the authority's anchor trusts.
"""

from __future__ import annotations

import dataclasses

import base64
import datetime as dt
import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from trust.keys import DigestAlgorithm
from trust.pki import TrustPolicy
from ._asic_message import MessageIdentity, read_identity
from ._signature_timestamp import VerifiedEvidenceTimestamp, check_timestamp_chain, verify_signature_timestamp
from trust.xades import SIG_HASH_CHAIN, SIG_HASH_CHAIN_RESULT, TS_HASH_CHAIN, TS_HASH_CHAIN_RESULT
from trust.protocol import ClientId
from trust.xades import (
    AsicError, AsicMissingEntry, AsicUnknownInstance, AsicUnsignedEntry, SignatureMalformed,
)
from trust.xades import VerifiedSignature, check_cryptography, trust_signature

MIMETYPE = b"application/vnd.etsi.asic-e+zip"
MESSAGE = "message.xml"
SIGNATURE = "META-INF/signatures.xml"
TIMESTAMP = "META-INF/timestamp.tst"
MANIFEST = "META-INF/manifest.xml"
ASIC_MANIFEST = "META-INF/ASiCManifest.xml"
# configuration carried for verification with the anchor alone: no signature of the container covers
# it, the authority's signature on the directory does (checked by whoever verifies against an anchor)
CARRIED_CONF = "META-INF/verificationconf/"
_CONTROL = {"mimetype", MANIFEST, ASIC_MANIFEST, SIGNATURE, TIMESTAMP}

MAX_CONTAINER_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 1000
_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class AsicContainer:
    """The entries of a container by name (no leading slash), in archive order."""

    entries: Mapping[str, bytes]

    def get(self, name: str) -> bytes | None:
        return self.entries.get(name)

    def require(self, name: str) -> bytes:
        data = self.entries.get(name)
        if data is None:
            raise AsicMissingEntry(f"container has no {name}")
        return data

    def carried_configuration(self) -> dict[str, bytes]:
        """Entries under ``META-INF/verificationconf/`` by their name below it (``EE/directory``)."""
        return {name[len(CARRIED_CONF):]: data for name, data in self.entries.items() if name.startswith(CARRIED_CONF)}

    def attachments(self) -> dict[str, bytes]:
        """``attachmentN`` entries by container URI (``/attachment1``)."""
        return {
            "/" + name: data
            for name, data in self.entries.items()
            if name.startswith("attachment") and name[len("attachment"):].isdigit()
        }


def _manifest(entries: Sequence[tuple[str, str]]) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">',
        '    <manifest:file-entry manifest:media-type="application/vnd.etsi.asic-e+zip" manifest:full-path="/"/>',
    ]
    lines += [f'    <manifest:file-entry manifest:media-type="{mime}" manifest:full-path="{path}"/>' for path, mime in entries]
    lines.append("</manifest:manifest>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _asic_manifest(ts_result: bytes) -> bytes:
    digest = base64.b64encode(DigestAlgorithm.SHA512.digest(ts_result)).decode()
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<asic:ASiCManifest xmlns:asic="http://uri.etsi.org/2918/v1.2.1#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">\n'
        '<asic:SigReference URI="META-INF/timestamp.tst" MimeType="vnd.etsi.timestamp-token"/>\n'
        '<asic:DataObjectReference URI="ts-hashchainresult.xml" MimeType="text/xml">\n'
        f'<ds:DigestMethod Algorithm="{DigestAlgorithm.SHA512.value}" />\n'
        f"<ds:DigestValue>{digest}</ds:DigestValue>\n"
        "</asic:DataObjectReference>\n"
        "</asic:ASiCManifest>"
    ).encode("utf-8")


def write_container(
    *,
    message: bytes,
    signature_xml: bytes,
    created: dt.datetime,
    attachments: Sequence[bytes] = (),
    sig_hash_chain_result: bytes | None = None,
    sig_hash_chain: bytes | None = None,
    timestamp_token: bytes | None = None,
    ts_hash_chain_result: bytes | None = None,
    ts_hash_chain: bytes | None = None,
    deflate: bool = True,
    configuration: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """Write one message-log record as an ASiC-E container (bytes of the ZIP).

    ``deflate=False`` stores the entries uncompressed: for containers that go into a
    deflated archive, where the whole container is compressed as one stream (the
    signature, certificates and message share much text) -- smaller than deflating
    each entry and then the deflated container again.

    ``created`` (aware) is written as every entry's ZIP time, so the same record always
    gives the same bytes. A single timestamp lives inside ``signature_xml``; a batch
    timestamp needs ``timestamp_token`` with ``ts_hash_chain_result`` and ``ts_hash_chain``.

    ``configuration`` are (name, bytes) written under ``META-INF/verificationconf/``: the
    signed configuration directories of the time, so that the container verifies with an
    anchor alone (``gateway.messagelog.verify_with_anchors``). They are not data of the
    message: neither the manifest nor the signature lists them; the authority's
    signature on each directory is what vouches for them.
    """
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    if (sig_hash_chain_result is None) != (sig_hash_chain is None):
        raise AsicError("give both the signature hash chain result and the chain, or neither")
    if (ts_hash_chain_result is None) != (ts_hash_chain is None) or (ts_hash_chain_result is None) != (timestamp_token is None):
        raise AsicError("a batch timestamp needs its token, hash chain result and hash chain")
    entries: list[tuple[str, bytes, str | None]] = [(MESSAGE, message, "text/xml"), (SIGNATURE, signature_xml, None)]
    if sig_hash_chain_result is not None and sig_hash_chain is not None:
        entries += [("sig-hashchainresult.xml", sig_hash_chain_result, "text/xml"), ("sig-hashchain.xml", sig_hash_chain, "text/xml")]
    if ts_hash_chain_result is not None and ts_hash_chain is not None:
        entries += [("ts-hashchainresult.xml", ts_hash_chain_result, "text/xml"), ("ts-hashchain.xml", ts_hash_chain, "text/xml")]
    names = [(n, m) for n, _, m in entries if m is not None]
    names += [(f"attachment{i}", "application/octet-stream") for i in range(1, len(attachments) + 1)]
    entries.append((MANIFEST, _manifest(names), None))
    if ts_hash_chain_result is not None and timestamp_token is not None:
        entries += [(ASIC_MANIFEST, _asic_manifest(ts_hash_chain_result), None), (TIMESTAMP, timestamp_token, None)]
    entries += [(f"attachment{i}", data, None) for i, data in enumerate(attachments, 1)]
    for name, data in configuration:
        if name.startswith("/") or any(part in ("", "..") for part in name.split("/")):
            raise AsicError(f"configuration entry name {name!r} is not allowed")
        entries.append((CARRIED_CONF + name, data, None))
    stamp = created.astimezone(dt.timezone.utc).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("mimetype", date_time=stamp)
        info.compress_type = zipfile.ZIP_STORED
        archive.writestr(info, MIMETYPE)
        for name, data, _ in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            archive.writestr(info, data)
    return buffer.getvalue()


# what zipfile raises on a damaged archive besides BadZipFile (found by tests/fuzz): a negative
# seek or an undecodable name (ValueError), a cut deflate stream (EOFError, zlib.error), an
# unsupported version (NotImplementedError), an encrypted entry (RuntimeError)
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError, RuntimeError)


def read_container(data: bytes, *, max_bytes: int = MAX_CONTAINER_BYTES) -> AsicContainer:
    """Read a container defensively: size and entry limits, no duplicate or unsafe names."""
    if len(data) > max_bytes:
        raise AsicError(f"container is larger than {max_bytes} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise AsicError(f"container is not a ZIP archive: {exc}") from exc
    if len(infos) > MAX_ENTRIES:
        raise AsicError(f"container has more than {MAX_ENTRIES} entries")
    entries: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        if name.startswith("/") or "\\" in name or any(part in ("", "..") for part in name.split("/")):
            raise AsicError(f"container entry name {name!r} is not allowed")
        if name in entries:
            raise AsicError(f"container has two entries named {name}")
        total += info.file_size
        if total > max_bytes:
            raise AsicError(f"container expands to more than {max_bytes} bytes")
        try:
            with archive.open(info) as handle:
                content = handle.read(max_bytes + 1)
        except _ZIP_ERRORS as exc:
            raise AsicError(f"cannot read entry {name}: {exc}") from exc
        if len(content) > info.file_size or len(content) > max_bytes:
            raise AsicError(f"entry {name} is larger than its header says")
        entries[name] = content
    mimetype = entries.get("mimetype")
    if mimetype is None or mimetype.strip() != MIMETYPE:
        raise AsicError("container mimetype is missing or not application/vnd.etsi.asic-e+zip")
    return AsicContainer(entries)


@dataclass(frozen=True)
class VerifiedContainer:
    """A container whose signature, chains and timestamp all verified at evidence time."""

    message: bytes
    attachments: Mapping[str, bytes]
    identity: MessageIdentity
    signature: VerifiedSignature
    timestamp: VerifiedEvidenceTimestamp | None
    evidence_time: dt.datetime

    @property
    def signer(self) -> ClientId:
        return self.identity.signer

    def describe(self) -> list[str]:
        """Human-readable lines: who signed what and when."""
        sig = self.signature
        lines = [
            f"signer: {self.signer.to_text()} ({'response' if self.identity.is_response else 'request'}, {self.identity.kind})",
            f"certificate: {sig.signer_certificate.subject.rfc4514_string()} (serial {sig.signer_certificate.serial_number}, CA {sig.ca_name})",
            f"signed at: {sig.signing_time.isoformat()}",
            f"OCSP: {sig.ocsp_status}" + f" (produced {sig.ocsp.produced_at.isoformat()})",
        ]
        if self.identity.query_id:
            lines.append(f"message id: {self.identity.query_id}")
        if self.identity.purpose:
            lines.append(f"declared purpose: {self.identity.purpose} (signed, in the message)")
        lines.append(f"message: {len(self.message)} bytes, sha512 {DigestAlgorithm.SHA512.digest(self.message).hex()[:32]}...")
        for uri, data in sorted(self.attachments.items()):
            lines.append(f"attachment {uri}: {len(data)} bytes")
        if sig.hash_chain is not None:
            lines.append("signed as part of a batch (signature hash chain verified)")
        if self.timestamp is not None:
            kind = "batch" if self.timestamp.batch else "single"
            lines.append(
                f"timestamp: {self.timestamp.gen_time.isoformat()} ({kind}) by {self.timestamp.tsa_certificate.subject.rfc4514_string()}"
            )
        else:
            lines.append("timestamp: none (verified at the signing time)")
        return lines


def verify_container(
    data: bytes | AsicContainer,
    policies: Mapping[str, TrustPolicy],
    *,
    require_timestamp: bool = False,
) -> VerifiedContainer:
    """Verify a container against the trust policy of the signer's instance."""
    container = data if isinstance(data, AsicContainer) else read_container(data)
    message = container.require(MESSAGE)
    signature_xml = container.require(SIGNATURE)
    attachments = container.attachments()
    parts = {"/message.xml": message, **attachments}
    ts_result = container.get("ts-hashchainresult.xml")
    ts_chain = container.get("ts-hashchain.xml")
    token = container.get(TIMESTAMP)
    # integrity first: nothing about trust is decided before the bytes are known to be intact
    parsed, chain = _intact(container)
    identity = read_identity(message)
    policy = policies.get(identity.signer.instance)
    if policy is None:
        raise AsicUnknownInstance(f"no trust policy for instance {identity.signer.instance!r}")
    timestamp: VerifiedEvidenceTimestamp | None = None
    if ts_result is not None or token is not None or parsed.timestamp_tokens:
        timestamp = verify_signature_timestamp(
            signature_xml, _timestamp_policy(policy, policies), token=token,
            ts_hash_chain_result=ts_result, ts_hash_chain=ts_chain,
        )
        if parsed.signing_time > timestamp.gen_time + _SKEW:
            raise SignatureMalformed("the signature claims a signing time after its timestamp")
        _check_asic_manifest(container, ts_result)
    elif require_timestamp:
        raise AsicMissingEntry("container has no timestamp")
    _check_all_covered(container, parsed.external_uris(), chain is not None, timestamp)
    moment = timestamp.gen_time if timestamp is not None else parsed.signing_time
    verified = trust_signature(parsed, chain, parts, policy=policy, signer=identity.signer, at=moment)
    return VerifiedContainer(message, attachments, identity, verified, timestamp, moment)


def _intact(container: AsicContainer) -> tuple[Any, Any]:
    """The checks that need no trust: timestamp hash chain, signature references and value, signature hash chain."""
    signature_xml = container.require(SIGNATURE)
    ts_result = container.get("ts-hashchainresult.xml")
    if ts_result is not None:
        check_timestamp_chain(signature_xml, ts_result, container.get("ts-hashchain.xml"))
    return check_cryptography(
        signature_xml,
        {"/message.xml": container.require(MESSAGE), **container.attachments()},
        hash_chain_result=container.get("sig-hashchainresult.xml"),
        hash_chain=container.get("sig-hashchain.xml"),
    )


def check_integrity(data: bytes | AsicContainer) -> MessageIdentity:
    """Whether a container is intact, without deciding trust; the identity of its message.

    Why: an archive checked without the configuration tree of its time (``sild gateway
    log verify-archives`` without ``--conf``) can still show that no container was
    altered -- the signature covers the message and attachments and its value verifies
    with the certificate inside -- though not that the certificate was trusted then.
    """
    container = data if isinstance(data, AsicContainer) else read_container(data)
    _intact(container)
    return read_identity(container.require(MESSAGE))


def _timestamp_policy(signer_policy: TrustPolicy, policies: Mapping[str, TrustPolicy]) -> TrustPolicy:
    """The signer's policy with the approved TSAs of every trusted instance.

    The timestamp is made by the gateway that logged the message, with a TSA of *its*
    instance, while the signature may come from a partner instance (a provider's
    answer logged by the consumer's gateway). Any TSA approved by an instance the
    verifier trusts is therefore acceptable; certificate and OCSP checks of the
    signer still use the signer's own instance only.
    """
    tsas = list(signer_policy.tsas)
    for other in policies.values():
        tsas.extend(t for t in other.tsas if t not in tsas)
    return dataclasses.replace(signer_policy, tsas=tuple(tsas))


def _check_asic_manifest(container: AsicContainer, ts_result: bytes | None) -> None:
    manifest = container.get(ASIC_MANIFEST)
    if manifest is None or ts_result is None:
        return
    if manifest != _asic_manifest(ts_result) and base64.b64encode(DigestAlgorithm.SHA512.digest(ts_result)) not in manifest:
        raise AsicError("ASiCManifest does not match ts-hashchainresult.xml")


def _check_all_covered(
    container: AsicContainer,
    signed_uris: Sequence[str],
    signed_chain: bool,
    timestamp: VerifiedEvidenceTimestamp | None,
) -> None:
    allowed = set(_CONTROL) | {uri.lstrip("/") for uri in signed_uris} | {MESSAGE}
    allowed |= {name.lstrip("/") for name in container.attachments()}
    if signed_chain:
        allowed |= {SIG_HASH_CHAIN_RESULT.lstrip("/"), SIG_HASH_CHAIN.lstrip("/")}
    if timestamp is not None and timestamp.batch:
        allowed |= {TS_HASH_CHAIN_RESULT.lstrip("/"), TS_HASH_CHAIN.lstrip("/")}
    # carried configuration is vouched for by the authority's signature, checked against an anchor
    extra = sorted(name for name in container.entries if name not in allowed and not name.startswith(CARRIED_CONF))
    if extra:
        raise AsicUnsignedEntry(f"container holds entries that nothing signs: {', '.join(extra)}")
