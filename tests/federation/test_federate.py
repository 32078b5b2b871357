"""Two instances, EE and FI, each a real ``sild central serve`` process on loopback,
exchange external anchors; a gateway of EE then downloads and verifies both."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest

from federation.anchor import anchor_fingerprint, parse_anchor
from federation.client import AllowedFederations, ClientConfig, ConfigurationClient
from federation.directory import verify_directory
from federation.model import PRIVATE_PARAMETERS
from federation.model_errors import AnchorInvalid, ConfDownloadFailed, ConfError
from federation.registry_dir import CentralDir
from federation.registry_errors import WrongInstance
from federation.registry_init import add_trusted_anchor, build_anchor, init_central
from trust.identifiers import MemberId

from .test_central_support import PIN, CentralProcess, free_port, sild, wait_for

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
            if instance == "EE":
                sild("central", "init", str(directory), "--instance", instance, "--url", f"http://127.0.0.1:{port}")
            else:  # the same operation in-process (each CLI start costs seconds on a small machine)
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
    for name, directory in (("EE", ee_dir), ("FI", fi_dir)):
        out = tmp_path / f"{name.lower()}-external.xml"
        result = sild("central", "anchor", str(directory), "--external", "--out", str(out))
        fingerprint = re.search(r"SHA-224 fingerprint: ([0-9A-F:]+)", result.stdout)
        assert fingerprint and fingerprint.group(1) == anchor_fingerprint(out.read_bytes())
        anchors[name, "external"] = out
        home = CentralDir(directory)
        anchors[name, "internal"] = tmp_path / f"{name.lower()}-internal.xml"
        anchors[name, "internal"].write_bytes(build_anchor(home, internal=True, now=_utc()))
        home.close()

    # each serves verifiable configuration
    for name, node in (("EE", ee), ("FI", fi)):
        verified = _internal(node, anchors[name, "internal"])
        assert verified.instance == name  # type: ignore[attr-defined]

    # trusted anchors that must be refused, each for its reason (one through the CLI, the rest in-process)
    internal = sild("central", "trust-anchor", "add", str(ee_dir), str(anchors["FI", "internal"]), check=False)
    assert internal.returncode == 1 and "PRIVATE-PARAMETERS" in internal.stderr
    home = CentralDir(ee_dir)
    try:
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
