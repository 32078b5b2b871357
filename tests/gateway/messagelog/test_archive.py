"""Evidence export (ASiC-E that trust's verifier accepts) and chained archives with retention."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from gateway.messagelog import Archiver, NotTimestamped, export_exchange, verify_archive_chain
from gateway.messagelog._archive import ArchiveChainBroken, read_linking_info
from gateway.messagelog import Attachment, LogEntry, MessageLog, MessageLogConfig, RecordNotFound
from gateway.messagelog import Timestamper, evidence_stamper
from gateway.db import open_engine
from trust.pki import TrustPolicy
from trust.evidence import read_container, verify_container
from trust.protocol import MemberId, SubsystemId

from tests.gateway.messagelog.log_support import T0, Tsa

CLIENT = SubsystemId("EE", "COM", "20000002", "app")
SERVICE = SubsystemId("EE", "GOV", "70000001", "tax").service("getPerson", "v1")


class Pki:
    """A CA with OCSP and TSA (trust's own), a member sign key, and the trust policy for EE."""

    def __init__(self, directory: Path) -> None:
        from trust.services import CertificateAuthority
        from trust.services._bundle import ocsp_responder
        from trust.keys import KeyType, SoftToken
        from trust.pki._ocsp import build_ocsp_request

        self.ca = CertificateAuthority.init(
            directory / "ca", instance="EE", pin="1234", now=T0 - dt.timedelta(days=1), key_type=KeyType.EC_P256
        )
        self.token = SoftToken(directory / "member", "1234")
        self.token.generate("sign", KeyType.EC_P256)
        key = self.token._private_key("sign")  # test-only: a CSR needs the key
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "20000002")]))
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
        )
        self.cert = self.ca.issue_sign(MemberId("EE", "COM", "20000002"), now=T0 - dt.timedelta(days=1), csr=csr).cert
        self.ocsp = ocsp_responder(self.ca).respond(build_ocsp_request(self.cert, self.ca.issuing_cert), T0)
        self.tsa = Tsa(directory, self.ca)
        self.policy = TrustPolicy(
            instance="EE", cas=(self.ca.approved_ca(),), tsas=(self.ca.approved_tsa(self.tsa.url),),
            ocsp_freshness_seconds=3600,
        )

    def sign(self, message: bytes, extra: tuple[tuple[str, bytes], ...] = ()) -> bytes:
        from trust.xades import SignedPart, create_signature

        parts = [SignedPart("/message.xml", data=message)] + [SignedPart(uri, data=d, mime_type="application/octet-stream") for uri, d in extra]
        return create_signature(
            parts, signer=self.token, key_id="sign", certificate=self.cert, signing_time=T0, ocsp_responses=[self.ocsp]
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    p = Pki(tmp_path_factory.mktemp("pki"))
    yield p
    p.tsa.close()


def soap(query_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xroad="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">'
        "<SOAP-ENV:Header>"
        '<xroad:client id:objectType="SUBSYSTEM"><id:xRoadInstance>EE</id:xRoadInstance><id:memberClass>COM</id:memberClass>'
        "<id:memberCode>20000002</id:memberCode><id:subsystemCode>app</id:subsystemCode></xroad:client>"
        '<xroad:service id:objectType="SERVICE"><id:xRoadInstance>EE</id:xRoadInstance><id:memberClass>GOV</id:memberClass>'
        "<id:memberCode>70000001</id:memberCode><id:subsystemCode>tax</id:subsystemCode><id:serviceCode>getPerson</id:serviceCode>"
        "<id:serviceVersion>v1</id:serviceVersion></xroad:service>"
        f"<xroad:id>{query_id}</xroad:id><xroad:protocolVersion>4.0</xroad:protocolVersion>"
        "</SOAP-ENV:Header><SOAP-ENV:Body><getPerson><code>1</code></getPerson></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def logged(pki: Pki, mlog: MessageLog, query_id: str, *, attachment: bytes | None = None) -> int:
    message = soap(query_id)
    extra = (("/attachment1", attachment),) if attachment is not None else ()
    return mlog.append(
        LogEntry(
            query_id=query_id, client=CLIENT, service=SERVICE, side="client", direction="request", kind="SOAP",
            message=message, signature=pki.sign(message, extra), logged_at=T0,
            attachments=[Attachment("application/octet-stream", attachment)] if attachment is not None else (),
        )
    )


@pytest.fixture
def mlog(tmp_path: Path) -> MessageLog:
    return MessageLog(open_engine(tmp_path / "log.db"), clock=lambda: T0, config=MessageLogConfig(state_refresh_seconds=0))


def test_single_timestamped_export_verifies(pki: Pki, mlog: MessageLog) -> None:
    logged(pki, mlog, "q-single")
    assert Timestamper(mlog, evidence_stamper(pki.tsa.client())).run_all(T0) == 1
    data = export_exchange(mlog, "q-single", require_timestamp=True)
    verified = verify_container(data, {"EE": pki.policy}, require_timestamp=True)
    assert verified.signer == CLIENT.member or verified.signer == CLIENT
    assert verified.timestamp is not None and not verified.timestamp.batch
    assert verified.identity.query_id == "q-single"


def test_batch_timestamped_export_with_attachment_verifies(pki: Pki, mlog: MessageLog) -> None:
    logged(pki, mlog, "q-b1", attachment=b"%PDF-1.7 evidence")
    logged(pki, mlog, "q-b2")
    assert Timestamper(mlog, evidence_stamper(pki.tsa.client())).run_all(T0) == 2
    for qid in ("q-b1", "q-b2"):
        verified = verify_container(export_exchange(mlog, qid), {"EE": pki.policy}, require_timestamp=True)
        assert verified.timestamp is not None and verified.timestamp.batch
    container = read_container(export_exchange(mlog, "q-b1"))
    assert container.get("attachment1") == b"%PDF-1.7 evidence"


def test_tampered_export_is_refused(pki: Pki, mlog: MessageLog) -> None:
    logged(pki, mlog, "q-t")
    data = export_exchange(mlog, "q-t")
    container = read_container(data)
    entries = dict(container.entries)
    entries["message.xml"] = entries["message.xml"].replace(b"<code>1</code>", b"<code>2</code>")
    from trust.evidence import AsicContainer
    from trust.errors import TrustError

    with pytest.raises(TrustError):
        verify_container(AsicContainer(entries), {"EE": pki.policy})


def test_export_errors(pki: Pki, mlog: MessageLog) -> None:
    with pytest.raises(RecordNotFound):
        export_exchange(mlog, "nope")
    logged(pki, mlog, "q-u")
    with pytest.raises(NotTimestamped):
        export_exchange(mlog, "q-u", require_timestamp=True)


def test_archives_chain_and_retention(pki: Pki, mlog: MessageLog, tmp_path: Path) -> None:
    for n in range(5):
        logged(pki, mlog, f"q-a{n}")
    directory = tmp_path / "archives"
    archiver = Archiver(mlog, directory, max_records=2, keep=dt.timedelta(days=30))
    assert archiver.archive_all(T0) == []  # nothing timestamped yet: nothing archived
    Timestamper(mlog, evidence_stamper(pki.tsa.client())).run_all(T0)
    infos = archiver.archive_all(T0)
    assert [i.record_count for i in infos] == [2, 2, 1]
    assert infos[1].prev_digest == infos[0].digest
    paths = sorted(directory.glob("*.zip"))
    assert [p.name for p in paths] == [i.file.name for i in infos]
    assert verify_archive_chain(paths) == 5
    # every archived container still verifies
    (_, _), listed, entries = read_linking_info(paths[0])
    for _, name in listed:
        verify_container(entries[name], {"EE": pki.policy}, require_timestamp=True)
    # retention: nothing is young enough to keep after 31 days; archived rows go
    assert archiver.cleanup(T0 + dt.timedelta(days=10)) == 0
    assert archiver.cleanup(T0 + dt.timedelta(days=31)) == 5
    assert mlog.count() == 0


def test_archive_chain_detects_tampering(pki: Pki, mlog: MessageLog, tmp_path: Path) -> None:
    for n in range(3):
        logged(pki, mlog, f"q-x{n}")
    Timestamper(mlog, evidence_stamper(pki.tsa.client())).run_all(T0)
    directory = tmp_path / "a"
    Archiver(mlog, directory, max_records=1).archive_all(T0)
    paths = sorted(directory.glob("*.zip"))
    assert len(paths) == 3
    with pytest.raises(ArchiveChainBroken, match="does not link"):
        verify_archive_chain([paths[0], paths[2]])  # one archive removed
    # an entry replaced inside the middle archive
    tampered = tmp_path / "t" / paths[1].name
    tampered.parent.mkdir()
    with zipfile.ZipFile(paths[1]) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data + b"x" if name.endswith(".asice") else data)
    with pytest.raises(ArchiveChainBroken, match="does not match its digest"):
        verify_archive_chain([paths[0], tampered, paths[2]])
    shutil.rmtree(tampered.parent)


def conf_tree(pki: Pki, tmp_path: Path) -> Path:
    """A configuration tree naming the test CA and TSA (what ``--conf`` reads)."""
    from federation.model import (
        ApprovedCaInfo, ApprovedTsaInfo, CaInfo, ConfigurationSource, OcspInfo, SharedParameters,
    )
    from federation.model import write_shared_parameters
    from trust.pki import EJBCA_PROFILE
    from trust.pki import cert_der

    shared = SharedParameters(
        instance="EE",
        sources=(ConfigurationSource("127.0.0.1:1", (cert_der(pki.ca.root_cert),)),),
        approved_cas=(ApprovedCaInfo("EE test CA", CaInfo(cert_der(pki.ca.root_cert),
                                                          (OcspInfo("http://127.0.0.1:1/", cert_der(pki.ca.ocsp_cert)),)),
                                     EJBCA_PROFILE),),
        approved_tsas=(ApprovedTsaInfo("EE test TSA", pki.tsa.url, cert_der(pki.ca.tsa_cert)),),
    )
    conf = tmp_path / "conf"
    (conf / "EE").mkdir(parents=True)
    (conf / "EE" / "shared-params.xml").write_bytes(write_shared_parameters(shared))
    (conf / "EE" / "shared-params.xml.metadata").write_text('{"configurationVersion": "6"}')
    (conf / "instance-identifier").write_text("EE")
    return conf


def test_sild_asic_verify_accepts_the_export(pki: Pki, mlog: MessageLog, tmp_path: Path) -> None:
    """The exported file passes ``sild asic verify`` with a configuration tree naming the CA and TSA."""
    from click.testing import CliRunner

    from gateway.cli._main import _register, cli

    logged(pki, mlog, "q-cli-verify")
    logged(pki, mlog, "q-cli-other")
    Timestamper(mlog, evidence_stamper(pki.tsa.client())).run_all(T0)
    out = tmp_path / "evidence.asice"
    out.write_bytes(export_exchange(mlog, "q-cli-verify", require_timestamp=True))
    conf = conf_tree(pki, tmp_path)
    _register()
    result = CliRunner().invoke(cli, ["asic", "verify", str(out), "--conf", str(conf), "--require-timestamp"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "timestamp:" in result.output and "batch" in result.output


def test_verify_archives_checks_every_container(pki: Pki, mlog: MessageLog, tmp_path: Path) -> None:
    """verify-archives checks each container (integrity; with --conf, trust too), naming the one that fails.

    The last archive is rebuilt around a container whose message was changed, with its
    linkinginfo recomputed: the chain alone cannot tell (nothing links to the last
    archive), the container's signature does.
    """
    import hashlib

    from click.testing import CliRunner

    from gateway.cli._main import _register, cli

    for n in range(3):
        logged(pki, mlog, f"q-v{n}", attachment=b"%PDF attachment" if n == 1 else None)
    Timestamper(mlog, evidence_stamper(pki.tsa.client())).run_all(T0)
    directory = tmp_path / "archives"
    Archiver(mlog, directory, max_records=2).archive_all(T0)
    conf = conf_tree(pki, tmp_path)
    _register()

    def verify(*args: str) -> Any:
        return CliRunner().invoke(cli, ["gateway", "log", "verify-archives", str(directory), *args])

    plain, trusted = verify("--each"), verify("--conf", str(conf), "--require-timestamp", "--each")
    assert plain.exit_code == 0 and "3 container(s) (integrity only, no --conf)" in plain.output, plain.output
    assert trusted.exit_code == 0 and "3 container(s) (trust checked with --conf)" in trusted.output, trusted.output
    assert trusted.output.count("ok (EE/COM/20000002/app)") == 3
    other = conf_tree(Pki(tmp_path / "other-pki"), tmp_path / "other")  # a CA and TSA nobody used here
    untrusted = verify("--conf", str(other))
    assert untrusted.exit_code == 1 and untrusted.output.count("-request-client-") == 3

    last = sorted(directory.glob("mlog-*.zip"))[-1]
    with zipfile.ZipFile(last) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in entries if n.endswith(".asice"))
    container = dict(read_container(entries[name]).entries)
    container["message.xml"] = container["message.xml"].replace(b"<code>1</code>", b"<code>2</code>")
    with zipfile.ZipFile(tmp_path / "c.asice", "w") as out:
        for entry_name, data in container.items():
            out.writestr(entry_name, data)
    entries[name] = (tmp_path / "c.asice").read_bytes()
    lines = entries["linkinginfo"].decode().splitlines()
    entries["linkinginfo"] = "\n".join(
        f"{hashlib.sha512(entries[name]).hexdigest()} {name}" if line.endswith(" " + name) else line for line in lines
    ).encode() + b"\n"
    with zipfile.ZipFile(last, "w", zipfile.ZIP_DEFLATED) as out:
        for entry_name, data in entries.items():
            out.writestr(entry_name, data)
    chain_only = verify("--chain-only")
    assert chain_only.exit_code == 0, chain_only.output
    broken = verify()
    assert broken.exit_code == 1
    assert f"{last.name}: {name}: " in broken.output and "1 of 3 container(s) failed" in broken.output
    assert "gateway.archive.container_invalid" in broken.output
