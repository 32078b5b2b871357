"""The authority's ``POST /api/v1/backup`` over real HTTP: the archive restores; restore is refused online."""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile
import threading
from typing import Iterator

import httpx
import pytest
from cheroot import wsgi

from federation.central import CENTRAL_BACKUP
from federation.central.api import CentralAppConfig, create_app
from federation.central.registry import CentralDir, init_central
from trust.backup import restore_backup

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PIN = "test-pin"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    directory = tmp_path_factory.mktemp("central") / "ee"
    init_central(str(directory), instance="EE", url="http://127.0.0.1:4000", pin=PIN, now=NOW)
    home = CentralDir(directory)
    keys = {role: home.registry().create_api_key(role, [role]) for role in ("security-officer", "system-admin")}
    home.close()
    server = wsgi.Server(("127.0.0.1", 0), create_app(CentralAppConfig(directory=directory, clock=lambda: NOW)))
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{server.bind_addr[1]}", timeout=30, trust_env=False)
    yield http, {role: f"Bearer {key}" for role, key in keys.items()}
    http.close()
    server.stop()
    thread.join(timeout=5)


def test_a_system_admin_downloads_a_backup_that_restores(served, tmp_path):
    http, keys = served
    answer = http.post("/api/v1/backup", headers={"Authorization": keys["system-admin"]})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/gzip" and 'filename="EE-' in answer.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(answer.content)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert (manifest["role"], manifest["identity"]) == ("central", "EE")
    assert {"central.json", "registry.db"} <= {f["path"] for f in manifest["files"]}
    (tmp_path / "ee.tar.gz").write_bytes(answer.content)
    restore_backup(tmp_path / "ee.tar.gz", tmp_path / "restored", CENTRAL_BACKUP)
    restored = CentralDir(tmp_path / "restored")
    try:
        assert restored.config.instance == "EE" and restored.registry().api_keys()
    finally:
        restored.close()
    encrypted = http.post("/api/v1/backup", headers={"Authorization": keys["system-admin"]}, json={"passphrase": "p w"})
    assert encrypted.status_code == 200 and encrypted.headers["content-type"] == "application/octet-stream"
    assert not encrypted.content.startswith(b"\x1f\x8b")


def test_only_a_system_admin_backs_up_and_nobody_restores_online(served):
    http, keys = served
    assert http.post("/api/v1/backup", headers={"Authorization": keys["security-officer"]}).status_code == 403
    empty = http.post("/api/v1/backup", headers={"Authorization": keys["system-admin"]}, json={"passphrase": ""})
    assert empty.status_code == 400 and empty.json()["code"] == "api.invalid_field"
    refused = http.post("/api/v1/restore", headers={"Authorization": keys["system-admin"]})
    assert refused.status_code == 409 and refused.json()["code"] == "api.restore_online"
    assert "sild central restore" in refused.json()["message"]
