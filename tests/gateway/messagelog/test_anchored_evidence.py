"""Evidence that verifies with the anchor alone (issue 20, part 3), against running processes.

One sandbox (``sild sandbox up``: two authorities, trust services, four gateways, each a
process of its own). An exchange EE tax -> FI vero goes through the real gateways; its
request and response are exported with ``sild gateway log export`` and verified with
``sild asic verify FILE --anchor ...`` in a fresh directory holding only the file and
the anchors. Then EE's authority rotates its internal signing key (new key announced,
the gateway's operator installs the new anchor, key activated, old key removed): a
record logged before and one after verify each with the anchor of its own period,
and the other period's anchor is refused with a message that names the mismatch. The
same for the archives in one ``verify-archives`` run with per-record lines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest

from gateway.sandbox import _processes as processes
from trust.protocol import parse_soap

from tests.gateway.proxy.test_exchange import TAX, VERO_SVC, _soap, _tax_body

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

TAX_GW = "EE/GOV/70000001/gw1"


def _sild(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(processes.sild_command(*args), capture_output=True, text=True, timeout=240, cwd=cwd,
                          env=dict(os.environ, SILD_TOKEN_PIN="sandbox-pin"))


def _within(seconds: float, check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(1)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("sandbox")
    result = _sild("sandbox", "up", str(root), "--owner-pid", str(os.getpid()))
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        yield json.loads((root / "sandbox.json").read_text())
    finally:
        down = _sild("sandbox", "down", str(root))
        assert down.returncode == 0, down.stderr


def _gdir(sandbox: Any) -> Path:
    return Path(next(g["directory"] for g in sandbox["gateways"] if g["id"] == TAX_GW))


def _exchange(sandbox: Any) -> str:
    msg, resp = _soap(sandbox, TAX, VERO_SVC, _tax_body())
    assert resp.status_code == 200, resp.text
    return str(parse_soap(msg, "text/xml").header.query_id)


def _export(sandbox: Any, query_id: str, direction: str, out: Path) -> Path:
    """``sild gateway log export`` once the record is timestamped (the gateway stamps in batches)."""
    def exported() -> bool:
        return _sild("gateway", "log", "export", str(_gdir(sandbox)), "--query-id", query_id, "--out", str(out),
                     "--direction", direction, "--require-timestamp").returncode == 0

    _within(90, exported, f"the {direction} of {query_id} timestamped")
    return out


def _verify(fresh: Path, file: Path, *anchors: Path) -> subprocess.CompletedProcess[str]:
    """``sild asic verify`` in a fresh directory holding only copies of the file and the anchors."""
    fresh.mkdir(exist_ok=True)
    args = ["asic", "verify", shutil.copy(file, fresh / file.name)]
    for anchor in anchors:
        args += ["--anchor", shutil.copy(anchor, fresh / f"{anchor.parent.name}-{anchor.name}")]
    return _sild(*map(str, args), cwd=fresh)


def _rewrite(src: Path, dst: Path, name: str, change: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change(data) if info.filename == name else data)
    return dst


def test_an_exported_exchange_verifies_with_the_anchors_alone(sandbox: Any, tmp_path: Path) -> None:
    root = Path(sandbox["directory"])
    ee, fi = root / "EE" / "anchor-internal.xml", root / "FI" / "anchor-external.xml"
    _within(60, lambda: (_gdir(sandbox) / "conf-history" / "FI").is_dir(), "the configuration history kept")
    query_id = _exchange(sandbox)
    request = _export(sandbox, query_id, "request", tmp_path / "request.asice")
    response = _export(sandbox, query_id, "response", tmp_path / "response.asice")
    # what each record needs: the logging gateway's instance (EE: its TSA) and the signer's
    carried = {"instance-identifier", "EE/directory", "EE/shared-params.xml"}
    fi_carried = {"FI/directory", "FI/shared-params.xml"}
    prefix = "META-INF/verificationconf/"
    names = {n[len(prefix):] for n in zipfile.ZipFile(request).namelist() if n.startswith(prefix)}
    assert names == carried  # EE signed the request
    names = {n[len(prefix):] for n in zipfile.ZipFile(response).namelist() if n.startswith(prefix)}
    assert names == carried | fi_carried  # FI signed the response

    ok = _verify(tmp_path / "fresh1", request, ee)
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout and "configuration EE: signed with a key of anchor" in ok.stdout
    assert "signer: SUBSYSTEM:EE/GOV/70000001/tax" in ok.stdout or "EE/GOV/70000001/tax" in ok.stdout
    # FI signed the response; EE's gateway logged and timestamped it: both anchors are needed
    both = _verify(tmp_path / "fresh2", response, ee, fi)
    assert both.returncode == 0, both.stderr
    only_ee = _verify(tmp_path / "fresh3", response, ee)
    assert only_ee.returncode == 1 and "anchor: no anchor of instance FI given" in only_ee.stderr
    # an anchor of another instance's internal configuration is not FI's external one
    wrong = _verify(tmp_path / "fresh4", response, ee, root / "FI" / "anchor-internal.xml")
    assert wrong.returncode == 1 and "anchor: the configuration directory of FI" in wrong.stderr, wrong.stderr

    # tampering with the carried configuration: a CA slipped into the shared parameters, or the
    # signed directory edited, is named as such
    def add_ca(data: bytes) -> bytes:
        return data.replace(b"</approvedCA>", b"</approvedCA><!-- more -->", 1)

    altered = _rewrite(request, tmp_path / "altered.asice", "META-INF/verificationconf/EE/shared-params.xml", add_ca)
    bad = _verify(tmp_path / "fresh5", altered, ee)
    assert bad.returncode == 1 and "configuration: the carried shared parameters of EE are not the ones" in bad.stderr

    def edit_directory(data: bytes) -> bytes:
        return data.replace(b"Expire-date: ", b"Expire-date:  ", 1)

    resigned = _rewrite(request, tmp_path / "dir.asice", "META-INF/verificationconf/EE/directory", edit_directory)
    bad = _verify(tmp_path / "fresh6", resigned, ee)
    assert bad.returncode == 1 and bad.stderr.count("\n") <= 2 and "EE" in bad.stderr
    assert "anchor:" in bad.stderr or "configuration:" in bad.stderr, bad.stderr
    # and the message itself altered: the signature link
    changed = _rewrite(request, tmp_path / "msg.asice", "message.xml", lambda d: d.replace(b"010190", b"010191"))
    bad = _verify(tmp_path / "fresh7", changed, ee)
    assert bad.returncode == 1 and "message signature:" in bad.stderr, bad.stderr
    usage = _sild("asic", "verify", str(request))
    assert usage.returncode != 0 and "--conf DIR or --anchor" in usage.stderr


def _runs(sandbox: Any) -> list[Path]:
    folder = _gdir(sandbox) / "conf-history" / "EE"
    return sorted(p for p in folder.iterdir() if (p / "run.json").is_file())


def _run_verifies_with(sandbox: Any, anchor: Path) -> bool:
    """Whether the newest kept EE directory is signed with a key ``anchor`` lists."""
    from federation.anchor import load_anchor
    from federation.directory import parse_directory, verify_signature

    try:
        verify_signature(parse_directory((_runs(sandbox)[-1] / "directory").read_bytes()), load_anchor(anchor).anchor)
    except Exception:
        return False
    return True


def test_key_rotation_each_record_verifies_with_the_anchor_of_its_time(sandbox: Any, tmp_path: Path) -> None:
    root = Path(sandbox["directory"])
    central, gdir = str(root / "EE" / "central"), _gdir(sandbox)
    old, fi = root / "EE" / "anchor-internal.xml", root / "FI" / "anchor-external.xml"
    _within(60, lambda: (gdir / "conf-history" / "EE").is_dir(), "the configuration history kept")
    before = _exchange(sandbox)

    created = _sild("central", "key", "list", central)
    old_key = next(line.split("\t")[0] for line in created.stdout.splitlines() if "\tinternal\tactive" in line)
    created = _sild("central", "key", "create", central, "--kind", "internal")
    assert created.returncode == 0, created.stderr
    new_key = created.stdout.split()[0]
    assert _sild("central", "anchor", central, "--internal", "--out", str(tmp_path / "both.xml")).returncode == 0
    installed = _sild("gateway", "anchor", "install", str(gdir), str(tmp_path / "both.xml"))
    assert installed.returncode == 0, installed.stderr
    kept = json.loads((gdir / "anchor-history" / "anchors.json").read_text())
    assert kept[-1]["file"].endswith(".xml") and kept[-1]["replaced"]
    assert (gdir / "anchor-history" / kept[-1]["file"]).read_bytes() == old.read_bytes()
    assert _sild("central", "key", "activate", central, new_key).returncode == 0
    assert _sild("central", "key", "remove", central, old_key).returncode == 0
    assert _sild("central", "anchor", central, "--internal", "--out", str(tmp_path / "new.xml")).returncode == 0
    new = tmp_path / "new.xml"
    # the gateway downloads the configuration signed with the new key and keeps it as a new run
    _within(120, lambda: _run_verifies_with(sandbox, new), "a configuration signed with the new key kept")
    after = _exchange(sandbox)

    rec_before = _export(sandbox, before, "request", tmp_path / "before.asice")
    rec_after = _export(sandbox, after, "request", tmp_path / "after.asice")
    assert _verify(tmp_path / "v1", rec_before, old).returncode == 0
    assert _verify(tmp_path / "v2", rec_after, new).returncode == 0
    # both periods' anchors together: each record finds the one of its time
    assert _verify(tmp_path / "v3", rec_before, old, new).returncode == 0
    assert _verify(tmp_path / "v4", rec_after, old, new).returncode == 0
    wrong = _verify(tmp_path / "v5", rec_before, new)
    assert wrong.returncode == 1, wrong.stdout
    line = wrong.stderr.strip().splitlines()[-1]
    assert "anchor: the configuration directory of EE carried in the container is signed with the key" in line
    assert "lists the key(s)" in line and "an anchor of another period" in line
    wrong = _verify(tmp_path / "v6", rec_after, old)
    assert wrong.returncode == 1 and "anchor: the configuration directory of EE" in wrong.stderr

    # the whole archive in one command, one line per record
    archived = _sild("gateway", "log", "archive", str(gdir))
    assert archived.returncode == 0, archived.stderr
    fresh = tmp_path / "auditor"
    shutil.copytree(gdir / "archive", fresh / "archive")
    for anchor in (old, new, fi):
        shutil.copy(anchor, fresh / f"{anchor.parent.name}-{anchor.name}")
    shutil.copy(new, fresh / "EE-new.xml")
    everything = _sild("gateway", "log", "verify-archives", "archive", "--each", "--require-timestamp",
                       "--anchor", "EE-anchor-internal.xml", "--anchor", "EE-new.xml",
                       "--anchor", "FI-anchor-external.xml", cwd=fresh)
    assert everything.returncode == 0, everything.stdout[-2000:] + everything.stderr
    assert "whole chain checked from --anchor" in everything.stdout
    lines = [x for x in everything.stdout.splitlines() if ".asice: ok (" in x]
    assert any(before in x for x in lines) and any(after in x for x in lines)
    only_old = _sild("gateway", "log", "verify-archives", "archive", "--anchor", "EE-anchor-internal.xml",
                     "--anchor", "FI-anchor-external.xml", cwd=fresh)
    assert only_old.returncode == 1
    failed = [x for x in only_old.stdout.splitlines() if "gateway.evidence.chain_broken" in x]
    assert any(after in x for x in failed) and not any(before in x for x in failed)
    assert all("anchor: the configuration directory of EE" in x for x in failed)


def test_a_container_without_carried_configuration_says_so(xroad: Path) -> None:
    """An X-Road export (nothing under META-INF/verificationconf/) is refused with a pointer to --conf."""
    from gateway.messagelog import EvidenceChainBroken, verify_with_anchors
    from federation.anchor import load_anchor

    data = (xroad / "asic" / "valid-signed-message.asice").read_bytes()
    anchor = load_anchor(xroad / "asic" / "configuration-anchor1.xml")
    with pytest.raises(EvidenceChainBroken, match="^configuration: the container carries no signed configuration "
                                                  "of DEV .*verify with --conf"):
        verify_with_anchors(data, [anchor])
