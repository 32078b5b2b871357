"""``POST /api/v1/backup`` over real HTTP: the archive of the gateway directory, admin only; restore refused online."""

from __future__ import annotations

import io
import json
import tarfile
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from cheroot import wsgi

from gateway.admin import AdminConfig, create_app
from gateway.db import open_engine
from gateway.provision import GATEWAY_BACKUP, init_gateway
from gateway.serverconf import ServerConf, create_api_key
from trust.backup import BackupDamaged, restore_backup
from trust.keys import KeyType
from trust.protocol import parse_client

PIN = "backup-api-pin"
TAX = parse_client("EE/GOV/70000001/tax")


class Served:
    def __init__(self, gdir: Path) -> None:
        self.engine = open_engine(gdir / "serverconf.db")
        self.conf = ServerConf(self.engine, refresh_interval=0)
        self.conf.add_client(TAX)
        self.keys = {role: create_api_key(self.conf, [role], role)[1] for role in ("admin", "viewer")}
        self.server = wsgi.Server(("127.0.0.1", 0), create_app(AdminConfig(self.conf, directory=gdir)))
        self.server.prepare()
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.server.bind_addr[1]}", timeout=30, trust_env=False)

    def post(self, path: str, role: str = "admin", **kw: Any) -> httpx.Response:
        return self.http.post(path, headers={"Authorization": f"Bearer {self.keys[role]}"}, **kw)

    def close(self) -> None:
        self.http.close()
        self.server.stop()
        self.thread.join(timeout=5)
        self.engine.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    gdir = tmp_path_factory.mktemp("api") / "gw"
    init_gateway(gdir, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256,
                 settings={"is_port": 0, "peer_port": 0})
    s = Served(gdir)
    yield s, gdir
    s.close()


def test_an_admin_downloads_a_backup_that_restores(served, tmp_path):
    s, gdir = served
    answer = s.post("/api/v1/backup")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/gzip"
    assert 'filename="EE_GOV_70000001_gw1-' in answer.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(answer.content)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert (manifest["role"], manifest["identity"]) == ("gateway", "EE/GOV/70000001/gw1")
    (tmp_path / "gw.tar.gz").write_bytes(answer.content)
    restore_backup(tmp_path / "gw.tar.gz", tmp_path / "restored", GATEWAY_BACKUP)
    engine = open_engine(tmp_path / "restored" / "serverconf.db")
    try:
        assert {c.id for c in ServerConf(engine, refresh_interval=0).list_clients()} == {TAX}
    finally:
        engine.dispose()
    assert not list(Path(gdir).parent.glob(".*"))  # nothing left beside the gateway directory


def test_a_passphrase_in_the_body_encrypts_it(served, tmp_path):
    s, _gdir = served
    answer = s.post("/api/v1/backup", json={"passphrase": "sent over TLS, never in the URL"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/octet-stream"
    (tmp_path / "gw.bak").write_bytes(answer.content)
    with pytest.raises(BackupDamaged, match="wrong passphrase"):
        restore_backup(tmp_path / "gw.bak", tmp_path / "r", GATEWAY_BACKUP, passphrase="guess")
    restore_backup(tmp_path / "gw.bak", tmp_path / "r", GATEWAY_BACKUP, passphrase="sent over TLS, never in the URL")
    empty = s.post("/api/v1/backup", json={"passphrase": ""})
    assert empty.status_code == 400 and empty.json()["code"] == "gateway.admin.bad_field"


def test_only_an_admin_backs_up_and_nobody_restores_online(served):
    s, _gdir = served
    assert s.post("/api/v1/backup", role="viewer").status_code == 403
    refused = s.post("/api/v1/restore")
    assert refused.status_code == 409 and refused.json()["code"] == "gateway.admin.restore_online"
    assert "sild gateway restore" in refused.json()["message"]
