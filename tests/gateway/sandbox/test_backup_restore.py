"""Backup and restore of real nodes: a serving gateway and a serving authority, destroyed and brought back.

One sandbox (``sild sandbox up``: two instances, trust services, authorities, four
gateways, backends, all separate processes) for the module. The provider gateway is
backed up while it serves, its directory is destroyed, restored with
``sild gateway restore`` and started again: it serves the next exchange, and the
evidence of an exchange made before the backup is exported from it and verifies.
The authority is backed up while it serves, destroyed, restored and started again:
it serves the very signed configuration it served before.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest
from lxml import etree

from gateway.sandbox import _processes as processes
from gateway.sandbox._restart import restart_node
from trust.protocol import ServiceId, build_request, parse_client

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

TAX = parse_client("EE/GOV/70000001/tax")
VERO_GW = "FI/GOV/0245437-2/gw1"
VERO_SVC = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
VERO_NS = "http://vero.sandbox.sild.eu/producer"
PASSPHRASE_ENV = "SILD_TEST_BACKUP_PASSPHRASE"


def _sild(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(processes.sild_command(*args), capture_output=True, text=True, timeout=240,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox")
    result = _sild("sandbox", "up", str(root), "--owner-pid", str(os.getpid()))
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        yield root
    finally:
        down = _sild("sandbox", "down", str(root))
        assert down.returncode == 0, down.stderr


def _state(root: Path) -> dict:
    return json.loads((root / "sandbox.json").read_text())


def _ask_vero(root: Path) -> str:
    """One SOAP exchange EE tax -> FI vero through both gateways; returns its query id."""
    query_id = str(uuid.uuid4())
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = "010190-123M"
    message = build_request(client=TAX, service=VERO_SVC, query_id=query_id, body=body, user_id="EE38001010000")
    is_url = next(g["is_url"] for g in _state(root)["gateways"] if TAX.to_text() in g["clients"])
    resp = httpx.post(is_url + "/", content=message, headers={"Content-Type": "text/xml; charset=utf-8"},
                      timeout=60, trust_env=False)
    assert resp.status_code == 200, resp.text
    return query_id


def test_a_gateway_backed_up_while_serving_comes_back_with_its_evidence(sandbox, tmp_path):
    gateway = next(g for g in _state(sandbox)["gateways"] if g["id"] == VERO_GW)
    gdir, name = Path(gateway["directory"]), gateway["process"]
    before = _ask_vero(sandbox)
    env = {PASSPHRASE_ENV: "a long passphrase for the vault"}
    backup = _sild("gateway", "backup", str(gdir), "--out", str(tmp_path / "gw.bak"), "--passphrase-env",
                   PASSPHRASE_ENV, env=env)
    assert backup.returncode == 0, backup.stderr
    assert f"gateway {VERO_GW}" in backup.stdout and "encrypted" in backup.stdout
    assert processes.running(sandbox).count(name) == 1  # it served all along

    refused = _sild("gateway", "restore", str(gdir), str(tmp_path / "gw.bak"), "--passphrase-env", PASSPHRASE_ENV,
                    env=env)
    assert refused.returncode == 1 and "is running" in refused.stderr and "[trust.backup.refused]" in refused.stderr
    wrong = _sild("gateway", "restore", str(tmp_path / "elsewhere"), str(tmp_path / "gw.bak"),
                  "--passphrase-env", PASSPHRASE_ENV, env={PASSPHRASE_ENV: "not the passphrase"})
    assert wrong.returncode == 1 and "wrong passphrase" in wrong.stderr and len(wrong.stderr.splitlines()) == 1
    other = next(g for g in _state(sandbox)["gateways"] if g["id"] != VERO_GW and g["id"].startswith("FI/"))
    processes.stop(sandbox, other["process"])
    try:
        foreign = _sild("gateway", "restore", other["directory"], str(tmp_path / "gw.bak"),
                        "--passphrase-env", PASSPHRASE_ENV, env=env)
        assert foreign.returncode == 1 and f"backup is of gateway {VERO_GW}" in foreign.stderr
    finally:
        restart_node(sandbox, other["process"], 120)

    processes.stop(sandbox, name)
    shutil.rmtree(gdir)
    restored = _sild("gateway", "restore", str(gdir), str(tmp_path / "gw.bak"), "--passphrase-env", PASSPHRASE_ENV,
                     env=env)
    assert restored.returncode == 0, restored.stderr
    assert (gdir / "messagelog.db").is_file() and not (gdir / "messagelog.db-wal").exists()
    restart_node(sandbox, name, 120)
    after = _ask_vero(sandbox)

    for query_id in (before, after):
        out = tmp_path / f"{query_id}.asice"
        export = _sild("gateway", "log", "export", str(gdir), "--query-id", query_id, "--out", str(out),
                       "--direction", "response")
        assert export.returncode == 0, export.stderr
        conf = tmp_path / f"conf-{query_id}"
        is_url = next(g["is_url"] for g in _state(sandbox)["gateways"] if g["id"] == VERO_GW)
        zipfile.ZipFile(io.BytesIO(httpx.get(is_url + "/verificationconf", timeout=30).content)).extractall(conf)
        verify = _sild("asic", "verify", str(out), "--conf", str(conf / "verificationconf"))
        assert verify.returncode == 0, verify.stderr
        assert f"{out.name}: valid" in verify.stdout


def test_an_authority_backed_up_while_serving_serves_the_same_signed_configuration(sandbox, tmp_path):
    instance = _state(sandbox)["instances"]["FI"]
    cdir, name = Path(instance["central_dir"]), instance["process"]["central"]
    served = {path: httpx.get(instance["central_url"] + path, timeout=30).content
              for path in ("/internalconf?version=6", "/externalconf?version=6")}
    assert all(served.values())
    backup = _sild("central", "backup", str(cdir), "--out", str(tmp_path / "central.tar.gz"))
    assert backup.returncode == 0, backup.stderr
    assert "governing authority FI" in backup.stdout and "not encrypted" in backup.stdout

    refused = _sild("central", "restore", str(cdir), str(tmp_path / "central.tar.gz"))
    assert refused.returncode == 1 and "is running" in refused.stderr
    as_gateway = _sild("gateway", "restore", str(tmp_path / "gw"), str(tmp_path / "central.tar.gz"), "--force")
    assert as_gateway.returncode == 1 and "backup of a central, not of a gateway" in as_gateway.stderr

    processes.stop(sandbox, name)
    shutil.rmtree(cdir)
    restored = _sild("central", "restore", str(cdir), str(tmp_path / "central.tar.gz"))
    assert restored.returncode == 0, restored.stderr
    restart_node(sandbox, name, 120)
    for path, content in served.items():
        assert httpx.get(instance["central_url"] + path, timeout=30).content == content
