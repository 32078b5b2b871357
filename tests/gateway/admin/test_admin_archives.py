"""The admin API archives the message log now and checks the archives, over real HTTP (cheroot on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import threading
import zipfile
from pathlib import Path
from typing import Any, Iterator, Sequence

import httpx
import pytest
from cheroot import wsgi

from gateway.admin import create_app
from gateway.admin._app import AdminConfig
from gateway.db import open_engine
from gateway.messagelog import MessageLog, Timestamper
from gateway.messagelog._timestamper import BatchStamp
from gateway.serverconf import ServerConf, create_api_key
from gateway.settings import NodeSettings
from trust.protocol import SecurityServerId

from tests.gateway.messagelog.log_support import T0, entry


def stamper(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
    return BatchStamp(b"token", b"<result/>", [b"<chain/>"] * len(signatures))


class Api:
    def __init__(self, directory: Path) -> None:
        self.conf = ServerConf(open_engine(directory / "serverconf.db"), clock=lambda: T0, refresh_interval=0)
        self.conf.set_identity(SecurityServerId("EE", "GOV", "70000001", "ss1"))
        self.log = MessageLog(open_engine(directory / "messagelog.db"), clock=lambda: T0)
        app = create_app(AdminConfig(self.conf, self.log, directory=directory))
        self.server = wsgi.Server(("127.0.0.1", 0), app)
        self.server.prepare()
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()
        self.keys = {role: create_api_key(self.conf, [role], f"test {role}")[1] for role in ("admin", "auditor")}
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.server.bind_addr[1]}", timeout=30.0,
                                 trust_env=False)

    def call(self, method: str, path: str, role: str) -> httpx.Response:
        return self.http.request(method, path, headers={"Authorization": f"Bearer {self.keys[role]}"})

    def close(self) -> None:
        self.http.close()
        self.server.stop()
        self.thread.join(timeout=5)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    NodeSettings(server="EE/GOV/70000001/ss1", instance="EE", archive_dir="evidence").save(tmp_path)
    a = Api(tmp_path)
    yield a
    a.close()


def test_archive_now_and_verify_over_the_api(api: Api, tmp_path: Path) -> None:
    for n in range(3):
        api.log.append(entry(f"q-{n}"))
    Timestamper(api.log, stamper).run_all(T0)
    assert api.call("POST", "/api/v1/messagelog/archive", "auditor").status_code == 403  # archiving is admin's
    done = api.call("POST", "/api/v1/messagelog/archive", "admin")
    assert done.status_code == 200, done.text
    (written,) = done.json()["archives"]
    assert written["records"] == 3 and written["bytes"] > 0 and done.json()["deleted"] == 0
    assert (tmp_path / "evidence" / written["file"]).is_file()  # the archive_dir setting
    chain = api.call("GET", "/api/v1/messagelog/archives/verify?chain_only=true", "auditor").json()
    assert chain["ok"] and chain["checked"] == 3 and chain["archives"][0]["sha512"] == written["sha512"]
    # the containers carry made-up signatures: the integrity check names each one
    checked = api.call("GET", "/api/v1/messagelog/archives/verify", "auditor").json()
    assert not checked["ok"] and len(checked["archives"][0]["failed"]) == 3
    path = tmp_path / "evidence" / written["file"]
    with zipfile.ZipFile(path) as z:
        entries: dict[str, Any] = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in entries if n.endswith(".asice"))
    entries[name] += b"x"
    with zipfile.ZipFile(path, "w") as z:
        for entry_name, data in entries.items():
            z.writestr(entry_name, data)
    tampered = api.call("GET", "/api/v1/messagelog/archives/verify?chain_only=true", "auditor").json()
    assert not tampered["ok"] and tampered["archives"][0]["failed"] == [
        {"entry": name, "error": "does not match its digest"}]
