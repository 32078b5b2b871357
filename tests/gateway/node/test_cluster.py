"""A gateway as a cluster node: the health port's verdict, the drain marker, HAProxy's configuration, joining.

The health port's answers come from the diagnostics' verdict of a real node (the
in-process world), a real unreachable PostgreSQL address and the drain marker; the
HAProxy configuration is checked by Debian's haproxy itself (``haproxy -c``); the join
bundle is opened with the backup's encryption, and a wrong passphrase, a foreign file
in the bundle or a shared message log are refused.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import httpx
import pytest

from gateway.net import EdgeServer
from gateway.node import (
    DrainRequest, DrainWatch, HealthApp, clear_drain, cluster_config, drain_status, haproxy_config, read_drain,
)
from gateway.node._health import database_status, health
from gateway.provision import export_cluster_bundle, init_gateway, join_cluster
from gateway.settings import NodeSettings, SetupError
from trust.backup import EncryptingWriter
from trust.keys import KeyType

from tests.gateway._world import TAX, free_port

PIN = "cluster-pin"
PG_DOWN = "postgresql+psycopg://sild@127.0.0.1:{port}/postgres?connect_timeout=3"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=30, trust_env=False)


def test_the_health_port_answers_the_node_s_verdict_and_503_while_it_drains(world):
    node = world.gateway_of(TAX)
    server = EdgeServer(HealthApp(node.traffic_health, ttl=0), "127.0.0.1", 0, name="health-test").start()
    try:
        ok = _get(server.url + "/health")
        verdict = node.traffic_health()
        assert verdict["status"] != "failing", verdict  # a working node: traffic passes
        assert ok.status_code == 200 and ok.text.startswith(("ok", "degraded: ")), ok.text
        assert _get(server.url + "/other").status_code == 404
        (node.directory / "drain.json").write_bytes(DrainRequest(AT, 5, 10).to_json())
        draining = _get(server.url + "/health")
        assert draining.status_code == 503
        assert draining.text.startswith("draining: draining since 2026-06-01T12:00:00Z") and draining.text.count("\n") == 1
        assert node.status()["health"]["code"] == "draining"  # `sild gateway status` says it too
    finally:
        clear_drain(node.directory)
        server.stop()
    assert node.traffic_health()["status"] != "failing"


def test_a_database_that_does_not_answer_fails_the_verdict():
    from sqlalchemy import create_engine

    engine = create_engine(PG_DOWN.format(port=free_port()))  # a port nobody listens on
    try:
        status = database_status({"server configuration": engine})
    finally:
        engine.dispose()
    assert status["server configuration"]  # the driver's reason
    verdict = health({"server": "EE/GOV/70000001/gw1", "instance": "EE", "databases": status,
                      "configuration": {"EE": {"valid": True, "expires_at": "2026-06-01T13:00:00Z"}}}, AT)
    assert (verdict["status"], verdict["code"]) == ("failing", "database_unreachable")
    assert verdict["problems"][0]["message"].startswith("the server configuration database cannot be reached: ")


def test_the_health_answer_is_cached_and_a_failing_verdict_is_a_503():
    calls = []
    now = [0.0]

    def verdict():
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("database gone")
        return {"status": "ok", "code": "ok", "problems": []}

    app = HealthApp(verdict, ttl=1.0, clock=lambda: now[0])
    assert app.answer() == (200, b"ok\n")
    now[0] = 0.5
    assert app.answer() == (200, b"ok\n") and len(calls) == 1  # within the TTL: not computed again
    now[0] = 1.5
    assert app.answer() == (503, b"internal_error: the health verdict failed: database gone\n")


class _Node:
    def __init__(self) -> None:
        self.drains = 0

    def begin_drain(self) -> None:
        self.drains += 1


def test_the_drain_watch_tells_the_main_process_when_to_stop_and_never_a_worker(tmp_path):
    moment = [AT]
    main_node, worker_node = _Node(), _Node()
    main = DrainWatch(tmp_path, main_node, main=True, clock=lambda: moment[0])
    worker = DrainWatch(tmp_path, worker_node, main=False, clock=lambda: moment[0])
    assert not main.poll() and main.timeout is None and drain_status(tmp_path) == {"draining": False}
    (tmp_path / "drain.json").write_bytes(DrainRequest(AT, 6, 20).to_json())
    assert not main.poll() and not worker.poll()
    assert (main_node.drains, worker_node.drains, main.timeout) == (1, 1, 20)
    moment[0] = AT + dt.timedelta(seconds=6)
    assert main.poll() and not worker.poll() and main_node.drains == 1
    assert drain_status(tmp_path)["stops_at"] == "2026-06-01T12:00:06Z"
    (tmp_path / "drain.json").write_text("{not json")  # someone wrote to it: still a drain, with the defaults
    assert read_drain(tmp_path) is not None
    with pytest.raises(SetupError, match="grace and timeout"):
        DrainRequest(AT, -1, 20)


def test_draining_a_directory_no_node_serves_is_refused(tmp_path):
    from gateway.node import request_drain

    with pytest.raises(SetupError, match="no node serves"):
        request_drain(tmp_path)
    assert not (tmp_path / "drain.json").exists()


def _node_dir(base: Path, name: str, **settings: object) -> Path:
    directory = base / name
    init_gateway(directory, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256,
                 settings={"is_port": free_port(), "peer_port": free_port(), **settings})
    return directory


@pytest.mark.skipif(not Path(HAPROXY).exists(), reason="haproxy is not installed (make test installs it)")
def test_the_haproxy_configuration_is_valid_for_haproxy(tmp_path):
    one = _node_dir(tmp_path, "one", health_port=free_port())
    two = _node_dir(tmp_path, "two", health_port=free_port())
    text = cluster_config([(one, None), (two, "127.0.0.2")], is_listen=("127.0.0.1", free_port()),
                          peer_listen=("0.0.0.0", free_port()))
    assert "mode tcp" in text and "option httpchk" in text and "http-check send meth GET uri /health" in text
    s1, s2 = NodeSettings.load(one), NodeSettings.load(two)
    assert f"server node1 127.0.0.1:{s1.peer_port} check port {s1.health_port}" in text
    assert f"server node2 127.0.0.2:{s2.is_port} check port {s2.health_port}" in text
    (tmp_path / "haproxy.cfg").write_text(text)
    checked = subprocess.run([HAPROXY, "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_haproxy_configuration_refuses_what_is_no_cluster(tmp_path):
    bare = _node_dir(tmp_path, "bare")
    with pytest.raises(SetupError, match="no health port"):
        cluster_config([(bare, None)], is_listen=("127.0.0.1", 1), peer_listen=("127.0.0.1", 2))
    other = tmp_path / "other"
    init_gateway(other, anchor=None, server="EE/GOV/70000002/gw1", pin=PIN, key_type=KeyType.EC_P256,
                 settings={"health_port": 5588})
    one = _node_dir(tmp_path, "one", health_port=5589)
    with pytest.raises(SetupError, match="one gateway"):
        cluster_config([(one, None), (other, None)], is_listen=("127.0.0.1", 1), peer_listen=("127.0.0.1", 2))
    with pytest.raises(SetupError, match="at least one node"):
        haproxy_config([], is_listen=("127.0.0.1", 1), peer_listen=("127.0.0.1", 2))


def test_a_node_joins_with_the_primary_s_keys_and_its_own_ports_and_log(tmp_path):
    shared = "postgresql+psycopg://sild@db.example:5432/serverconf"
    primary = _node_dir(tmp_path, "primary", serverconf_url=shared, health_port=5588)
    bundle = export_cluster_bundle(primary, "correct horse")
    assert b"BEGIN" not in bundle and b"gateway.json" not in bundle  # sealed
    with pytest.raises(SetupError, match="wrong passphrase"):
        join_cluster(tmp_path / "x", bundle, "guess", is_port=1, peer_port=2, health_port=3)
    settings = join_cluster(tmp_path / "second", bundle, "correct horse", is_port=18080, peer_port=15500,
                            health_port=15588, messagelog_url="postgresql+psycopg://sild@db.example:5432/log2")
    second = tmp_path / "second"
    assert (settings.server, settings.serverconf_url) == ("EE/GOV/70000001/gw1", shared)
    assert (settings.is_port, settings.peer_port, settings.health_port) == (18080, 15500, 15588)
    for name in ("token/auth.key.pem", "token/sign.key.pem", "csr/auth.csr.pem", "anchor.xml"):
        if (primary / name).exists():
            assert (second / name).read_bytes() == (primary / name).read_bytes(), name
    assert (second / "token" / "auth.key.pem").stat().st_mode & 0o077 == 0
    assert not (second / "serverconf.db").exists() and not (second / "token.pin").exists()
    with pytest.raises(SetupError, match="own message log"):
        join_cluster(tmp_path / "third", export_cluster_bundle(second, "p"), "p", is_port=1, peer_port=2,
                     health_port=3, messagelog_url=settings.messagelog_url)
    with pytest.raises(SetupError, match="already holds a gateway"):
        join_cluster(second, bundle, "correct horse", is_port=1, peer_port=2, health_port=3)


def test_a_primary_on_sqlite_or_a_bundle_with_foreign_files_is_refused(tmp_path):
    alone = _node_dir(tmp_path, "alone")
    with pytest.raises(SetupError, match="serverconf_url"):
        export_cluster_bundle(alone, "p")
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as tar:
        for name, data in (("gateway.json", json.dumps({}).encode()), ("../evil", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    sealed = io.BytesIO()
    writer = EncryptingWriter(sealed, "p")
    writer.write(plain.getvalue())
    writer.close()
    with pytest.raises(SetupError, match="'../evil'"):
        join_cluster(tmp_path / "j", sealed.getvalue(), "p", is_port=1, peer_port=2, health_port=3)
    assert not (tmp_path / "evil").exists() and not (tmp_path / "j").exists()


def test_a_joined_node_signs_with_the_primary_s_key_in_a_shared_pkcs11_token(tmp_path, monkeypatch):
    """The HSM way: the key stays in the token; the bundle carries only the registry's reference to it."""
    import hashlib

    from gateway.provision import generate_key, open_registry
    from trust.keys import KeyUsage, SignatureAlgorithm, verify_digest

    from tests.support.softhsm import make_token

    hsm = make_token(tmp_path / "hsm", monkeypatch, label="cluster")
    primary = _node_dir(tmp_path, "primary", serverconf_url="postgresql+psycopg://sild@db.example/serverconf",
                        health_port=5588)
    registry = open_registry(primary, PIN)
    registry.add_pkcs11_token("hsm", hsm.library, hsm.label)
    registry.login("hsm", hsm.pin)
    key, _csr = generate_key(primary, registry, token="hsm", usage=KeyUsage.SIGN, key_type=KeyType.EC_P256)
    registry.logout("hsm")
    join_cluster(tmp_path / "second", export_cluster_bundle(primary, "passphrase"), "passphrase", is_port=18081,
                 peer_port=15501, health_port=15589)
    assert not any(key.key_id in p.name for p in (tmp_path / "second" / "token").iterdir())  # not in the bundle
    monkeypatch.setenv("SILD_TOKEN_PIN_HSM", hsm.pin)  # the second node's operator logs in to the same token
    joined = open_registry(tmp_path / "second", PIN)
    digest = hashlib.sha256(b"one exchange").digest()
    signature = joined.sign(key.key_id, SignatureAlgorithm.ECDSA_SHA256, digest)
    assert verify_digest(registry.public_key(key.key_id), SignatureAlgorithm.ECDSA_SHA256, digest, signature)
