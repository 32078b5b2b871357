"""``GET/POST /api/v1/drain`` and ``POST /api/v1/cluster/bundle`` over real HTTP (issue 19).

The drain call writes the marker every process of the node reads (here the test
process is the node: it serves the API) and answers 202 at once with the node's pids;
the bundle call gives the encrypted bundle a new node joins with, refused for a
gateway whose server configuration is not shared. Both are the admin role's and both
are in the audit log, the passphrase redacted.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import httpx
from cheroot import wsgi

from gateway.admin import create_app
from gateway.admin._app import AdminConfig
from gateway.db import AuditRecord, open_engine
from gateway.node import GatewayNode, clear_drain, drain_status, read_drain
from gateway.provision import init_gateway, join_cluster
from gateway.serverconf import ServerConf, create_api_key
from gateway.settings import NodeSettings, with_changes
from trust.infra import AuditLog
from trust.keys import KeyType
from trust.protocol import SecurityServerId

PIN = "cluster-api-pin"


class GatewayNodeStandIn:
    """The node's side of the calls: its real ``drain_now`` (over this directory), its report's drain part."""

    drain_now = GatewayNode.drain_now

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def status(self) -> dict[str, object]:
        return {"drain": drain_status(self.directory)}
SHARED = "postgresql+psycopg://sild@db.example:5432/serverconf"


def test_drain_and_the_join_bundle_through_the_admin_api(tmp_path: Path) -> None:
    gdir = tmp_path / "gw"
    init_gateway(gdir, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256,
                 settings={"health_port": 15588})
    conf = ServerConf(open_engine(tmp_path / "gw.db"), refresh_interval=0)
    conf.set_identity(SecurityServerId("EE", "GOV", "70000001", "gw1"))
    keys = {role: create_api_key(conf, [role], role)[1] for role in ("admin", "viewer")}
    node = GatewayNodeStandIn(gdir)
    server = wsgi.Server(("127.0.0.1", 0), create_app(AdminConfig(conf, directory=gdir, node_status=node.status,
                                                                  drain=node.drain_now)))
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{server.bind_addr[1]}", timeout=30, trust_env=False)

    def call(method: str, path: str, role: str = "admin", **kw: object) -> httpx.Response:
        return http.request(method, path, headers={"Authorization": f"Bearer {keys[role]}"}, **kw)  # type: ignore[arg-type]

    try:
        assert call("GET", "/api/v1/drain", "viewer").json() == {"draining": False}
        assert call("POST", "/api/v1/drain", "viewer").status_code == 403 and read_drain(gdir) is None
        bad = call("POST", "/api/v1/drain", json={"grace_seconds": -1})
        assert bad.status_code == 400 and "grace_seconds" in bad.json()["message"] and read_drain(gdir) is None
        started = call("POST", "/api/v1/drain", json={"grace_seconds": 5, "timeout_seconds": 20})
        assert started.status_code == 202, started.text
        assert started.json()["draining"] is True and os.getpid() in started.json()["pids"]
        request = read_drain(gdir)
        assert request is not None and (request.grace_seconds, request.timeout_seconds) == (5, 20)
        assert call("GET", "/api/v1/drain", "viewer").json()["stops_at"] == started.json()["stops_at"]
        clear_drain(gdir)

        alone = call("POST", "/api/v1/cluster/bundle", json={"passphrase": "long enough"})
        assert alone.status_code == 409 and "serverconf_url" in alone.json()["message"]  # nothing to share yet
        with_changes(NodeSettings.load(gdir), {"serverconf_url": SHARED}).save(gdir)
        assert call("POST", "/api/v1/cluster/bundle", json={"passphrase": "short"}).status_code == 400
        assert call("POST", "/api/v1/cluster/bundle", "viewer", json={"passphrase": "long enough"}).status_code == 403
        bundle = call("POST", "/api/v1/cluster/bundle", json={"passphrase": "long enough"})
        assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/octet-stream"
        joined = join_cluster(tmp_path / "node2", bundle.content, "long enough", is_port=18080, peer_port=15500,
                              health_port=15589)
        assert joined.server == "EE/GOV/70000001/gw1" and joined.serverconf_url == SHARED
        assert (tmp_path / "node2" / "token" / "sign.key.pem").read_bytes() == (gdir / "token" / "sign.key.pem").read_bytes()
    finally:
        http.close()
        server.stop()
    entries = AuditLog(conf.engine, AuditRecord.__table__).entries()
    recorded = {(e.operation, e.outcome) for e in entries}
    assert ("POST /api/v1/drain", "ok") in recorded, recorded
    assert ("POST /api/v1/cluster/bundle", "ok") in recorded, recorded
    assert not any("long enough" in e.params for e in entries)  # the passphrase is never stored
