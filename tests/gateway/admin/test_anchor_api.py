"""``GET/POST /api/v1/anchor`` over real HTTP against a real authority's configuration server:
the rotated anchor is installed by the admin role only, another instance's is refused with 422
and a one-line reason, and the anchor in use stays untouched by refusals; ``GET/PATCH
/api/v1/settings`` change gateway.json and name what needs a restart (issue 17)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import httpx
from cheroot import wsgi

from federation.anchor import anchor_fingerprint, write_anchor
from gateway.admin import create_app
from gateway.admin._app import AdminConfig
from gateway.db import open_engine
from gateway.serverconf import ServerConf, create_api_key
from gateway.settings import NodeSettings
from trust.keys import KeyType
from trust.protocol import SecurityServerId

from tests.federation.client.client_support import Authority, sample_private, sample_shared
from tests.federation.directory_support import ConfServer, make_signing_identity

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def test_anchor_endpoints_install_a_verified_anchor_and_refuse_others(tmp_path: Path) -> None:
    ee_server, fi_server = ConfServer().start(), ConfServer().start()
    old = Authority("EE", make_signing_identity(tmp_path / "old", KeyType.EC_P256), ee_server)
    old.publish(sample_shared("EE"), sample_private("EE"), expire=AT + dt.timedelta(hours=1))
    gdir = tmp_path / "gw"
    gdir.mkdir()
    (gdir / "anchor.xml").write_bytes(write_anchor(old.anchor()))
    NodeSettings(server="EE/GOV/70000001/ss1", instance="EE").save(gdir)
    conf = ServerConf(open_engine(tmp_path / "gw.db"), clock=lambda: AT, refresh_interval=0)
    conf.set_identity(SecurityServerId("EE", "GOV", "70000001", "ss1"))
    keys = {role: create_api_key(conf, [role], role)[1] for role in ("admin", "viewer")}
    server = wsgi.Server(("127.0.0.1", 0), create_app(AdminConfig(conf, directory=gdir, clock=lambda: AT)))
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{server.bind_addr[1]}", timeout=30, trust_env=False)

    def call(method: str, role: str, data: bytes | None = None, path: str = "/api/v1/anchor",
             content_type: str = "application/xml") -> httpx.Response:
        return http.request(method, path, content=data,
                            headers={"Authorization": f"Bearer {keys[role]}", "Content-Type": content_type})

    try:
        shown = call("GET", "viewer").json()
        assert shown["instance"] == "EE" and shown["fingerprint"] == anchor_fingerprint(write_anchor(old.anchor()))

        new = Authority("EE", make_signing_identity(tmp_path / "new", KeyType.EC_P256, "conf-signer-2"), ee_server,
                        generation=old.generation)
        new.publish(sample_shared("EE"), sample_private("EE"), expire=AT + dt.timedelta(hours=1))
        data = write_anchor(new.anchor())
        assert call("POST", "viewer", data).status_code == 403  # installing is the admin role's
        fi = Authority("FI", make_signing_identity(tmp_path / "fi", KeyType.EC_P256), fi_server)
        refused = call("POST", "admin", write_anchor(fi.anchor()))
        assert refused.status_code == 422 and refused.json()["code"] == "gateway.anchor.refused"
        assert "\n" not in refused.json()["message"]
        stale = call("POST", "admin", write_anchor(old.anchor()))  # its key no longer signs the configuration
        assert stale.status_code == 422 and "do not answer with a configuration it verifies" in stale.json()["message"]
        assert call("POST", "admin", b"").status_code == 400
        assert (gdir / "anchor.xml").read_bytes() == write_anchor(old.anchor())

        installed = call("POST", "admin", data)
        assert installed.status_code == 200, installed.text
        assert installed.json()["fingerprint"] == anchor_fingerprint(data) and installed.json()["unchanged"] is False
        assert (gdir / "anchor.xml").read_bytes() == data
        assert call("GET", "viewer").json()["fingerprint"] == anchor_fingerprint(data)

        def patch(role: str, body: str) -> httpx.Response:
            return call("PATCH", role, body.encode(), "/api/v1/settings", "application/json")

        assert call("GET", "viewer", path="/api/v1/settings").json()["allowed_federations"] == "none"
        assert patch("viewer", '{"allowed_federations": "FI"}').status_code == 403
        changed = patch("admin", '{"allowed_federations": "FI", "peer_port": 5600}')
        assert changed.status_code == 200, changed.text
        assert changed.json()["restart_required"] == ["peer_port"] and changed.json()["changed"] == [
            "allowed_federations", "peer_port"]
        assert NodeSettings.load(gdir).allowed_federations == ("FI",)
        for bad, code in (('{"workers": 0}', "gateway.setup.error"), ('{"colour": "red"}', "gateway.setup.error"),
                          ('{"peer_port": "x"}', "gateway.setup.error"), ("[]", "gateway.admin.bad_body")):
            refused = patch("admin", bad)
            assert refused.status_code == 400 and refused.json()["code"] == code, refused.text
        assert NodeSettings.load(gdir).peer_port == 5600
    finally:
        http.close()
        server.stop()
        thread.join(timeout=5)
        ee_server.stop()
        fi_server.stop()
