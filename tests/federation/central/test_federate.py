"""Two instances, EE and FI, each a real ``sild central serve`` process on loopback,
exchange external anchors; a gateway of EE then downloads and verifies both."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from federation.anchor import anchor_fingerprint, parse_anchor
from federation.client import AllowedFederations, ClientConfig, ConfigurationClient
from federation.directory import verify_directory
from federation.model import PRIVATE_PARAMETERS
from federation.model import AnchorInvalid, ConfDownloadFailed, ConfError
from federation.central import submit_registration_request
from federation.central._registration import RegistrationError
from federation.central.registry import CentralDir
from federation.central.registry._errors import WrongInstance
from federation.central.registry import add_trusted_anchor, build_anchor, init_central
from trust.protocol import MemberId

from tests.federation.central.central_support import PIN, CentralProcess, GatewayPki, free_port, sild, wait_for

pytestmark = pytest.mark.slow


def _utc() -> dt.datetime:
    # the servers sign with the wall clock, so verification must use it too
    return dt.datetime.now(dt.timezone.utc)


def _internal(node: CentralProcess, anchor: Path) -> object:
    data = httpx.get(node.url + "/internalconf?version=6", timeout=5).content
    return verify_directory(data, parse_anchor(anchor.read_bytes()), at=_utc(),
                            fetch_part=lambda loc: httpx.get(node.url + loc, timeout=5).content)


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, CentralProcess]]:
    base = tmp_path_factory.mktemp("federation")
    nodes: dict[str, tuple[Path, CentralProcess]] = {}
    try:
        for instance in ("EE", "FI"):
            directory = base / instance.lower()
            port = free_port()
            # `sild central init` does exactly this (tested in test_central_cli); in-process saves a start
            init_central(str(directory), instance=instance, url=f"http://127.0.0.1:{port}", pin=PIN,
                         now=dt.datetime.now(dt.timezone.utc))
            nodes[instance] = (directory, CentralProcess(directory, port))
        for _, node in nodes.values():
            node.wait_ready()
        yield nodes
    finally:
        for _, node in nodes.values():
            node.stop()


def test_two_instances_federate(instances: dict[str, tuple[Path, CentralProcess]], tmp_path: Path) -> None:
    (ee_dir, ee), (fi_dir, fi) = instances["EE"], instances["FI"]
    anchors = {}
    out = tmp_path / "ee-external.xml"
    result = sild("central", "anchor", str(ee_dir), "--external", "--out", str(out))
    fingerprint = re.search(r"SHA-224 fingerprint: ([0-9A-F:]+)", result.stdout)
    assert fingerprint and fingerprint.group(1) == anchor_fingerprint(out.read_bytes())
    anchors["EE", "external"] = out
    for name, directory in (("EE", ee_dir), ("FI", fi_dir)):
        home = CentralDir(directory)
        for kind in ("internal", "external"):
            if (name, kind) not in anchors:
                anchors[name, kind] = tmp_path / f"{name.lower()}-{kind}.xml"
                anchors[name, kind].write_bytes(build_anchor(home, internal=kind == "internal", now=_utc()))
        home.close()

    # each serves verifiable configuration
    for name, node in (("EE", ee), ("FI", fi)):
        verified = _internal(node, anchors[name, "internal"])
        assert verified.instance == name  # type: ignore[attr-defined]

    # trusted anchors that must be refused, each for its reason
    home = CentralDir(ee_dir)
    try:
        with pytest.raises(AnchorInvalid, match="PRIVATE-PARAMETERS"):
            add_trusted_anchor(home, anchors["FI", "internal"].read_bytes(), now=_utc())
        with pytest.raises(WrongInstance):
            add_trusted_anchor(home, anchors["EE", "external"].read_bytes(), now=_utc())
        with pytest.raises(AnchorInvalid):
            add_trusted_anchor(home, b"<not-an-anchor/>", now=_utc())
        unreachable = anchors["FI", "external"].read_bytes().replace(fi.url.encode(), b"http://127.0.0.1:9")
        with pytest.raises(ConfDownloadFailed):
            add_trusted_anchor(home, unreachable, now=_utc())
        tampered = anchors["FI", "external"].read_bytes().replace(b"<verificationCert>MII", b"<verificationCert>MIJ")
        with pytest.raises(ConfError):
            add_trusted_anchor(home, tampered, now=_utc())
        assert home.registry().trusted_anchors() == []
    finally:
        home.close()

    # the exchange: each validates (downloads, verifies) and stores the other's external anchor
    sild("central", "trust-anchor", "add", str(ee_dir), str(anchors["FI", "external"]))
    sild("central", "trust-anchor", "add", str(fi_dir), str(anchors["EE", "external"]))

    # the running EE node picks the change up and lists FI's anchor in its private parameters
    def ee_lists_fi() -> bool:
        private = _internal(ee, anchors["EE", "internal"]).part(PRIVATE_PARAMETERS).model  # type: ignore[attr-defined]
        return private.anchor_for("FI") is not None

    wait_for(ee_lists_fi, what="EE's internal configuration to list FI's anchor")

    # a gateway of EE: with allowed_federations=FI it ends with both configurations verified
    ee_anchor = parse_anchor(anchors["EE", "internal"].read_bytes())
    federated = ConfigurationClient(ClientConfig(anchor=ee_anchor, directory=tmp_path / "gw-fed",
                                                 allowed_federations=AllowedFederations.parse("FI")))
    report = federated.refresh(_utc())
    assert report.ok, report
    assert sorted(o.instance for o in report.outcomes) == ["EE", "FI"]
    assert sorted(federated.current(_utc()).shared) == ["EE", "FI"]
    # with the default (none) only EE's
    default = ConfigurationClient(ClientConfig(anchor=ee_anchor, directory=tmp_path / "gw-default"))
    assert default.refresh(_utc()).ok
    assert sorted(default.current(_utc()).shared) == ["EE"]

    # a registry change made by another process is published by the running node
    member = MemberId("FI", "GOV", "0245437-2")
    sild("central", "member", "add", str(fi_dir), "--member", member.to_text(), "--name", "Digital Agency")

    def fi_member_visible() -> bool:
        report = federated.refresh(_utc())
        return report.ok and member in set(federated.current(_utc()).shared["FI"].member_ids())

    wait_for(fi_member_visible, what="FI's new member to reach EE's gateway")

    # removing the trusted anchor ends the federation for EE's gateways
    home = CentralDir(ee_dir)
    home.registry().remove_trusted_anchor("FI")
    home.close()
    wait_for(lambda: not ee_lists_fi(), what="EE to drop FI's anchor")
    federated.refresh(_utc())
    assert sorted(federated.current(_utc()).shared) == ["EE"]


def test_gateway_registers_over_http(instances: dict[str, tuple[Path, CentralProcess]], tmp_path: Path) -> None:
    """A gateway owner submits a signed request to the running EE node; the officer approves it
    through the API; EE's gateways then see the new gateway in verified configuration."""
    ee_dir, ee = instances["EE"]
    now = _utc()
    pki = GatewayPki(tmp_path, "EE", now)
    home = CentralDir(ee_dir)
    try:
        fields = pki.ca_fields()
        registry = home.registry()
        registry.add_ca(fields["name"], fields["cert"], ocsp=fields["ocsp"],  # type: ignore[arg-type]
                        certificate_profile=fields["certificate_profile"])  # type: ignore[arg-type]
        owner = MemberId("EE", "GOV", "70000002")
        registry.add_member(owner, "Population Register")
        officer = {"Authorization": "Bearer " + registry.create_api_key(f"officer-{now:%H%M%S%f}", ["registration-officer"])}
        document, auth = pki.request(owner.server("gw1"), address="gw1.rr.ee", created_at=now)
    finally:
        home.close()

    answer = submit_registration_request(ee.url, document)
    assert answer["status"] == "submitted"
    with pytest.raises(RegistrationError) as refused:  # a malformed request gets the authority's reason
        submit_registration_request(ee.url, b"{}")
    assert "HTTP 400" in str(refused.value)
    approved = httpx.post(f"{ee.url}/api/v1/registration-requests/{answer['id']}/approve", headers=officer, timeout=10)
    assert approved.status_code == 200, approved.text

    ee_anchor = parse_anchor(build_anchor_file(ee_dir))
    client = ConfigurationClient(ClientConfig(anchor=ee_anchor, directory=tmp_path / "gw"))

    def registered() -> bool:
        if not client.refresh(_utc()).ok:
            return False
        own = client.current(_utc()).own
        server = own.server_by_auth_cert(auth.public_bytes(serialization.Encoding.DER))
        return server is not None and server.server_id == owner.server("gw1")

    wait_for(registered, what="the approved gateway in EE's configuration")
    pki.close()


def build_anchor_file(directory: Path) -> bytes:
    home = CentralDir(directory)
    try:
        return build_anchor(home, internal=True, now=_utc())
    finally:
        home.close()
