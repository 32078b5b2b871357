"""Two nodes of one gateway on one PostgreSQL follow each other's certificates, anchor and settings live.

Node A is a copy of the in-process world's tax gateway with its server configuration
moved to a real PostgreSQL database; node B joined it from its encrypted bundle. Both
are real :class:`~gateway.node.GatewayNode` objects, each running its live check on
its own scheduler every 2 s (the node's own job, ``_schedule_following``), not
restarted: a certificate imported on A becomes the certificate B signs with, an
anchor installed on A is B's anchor, ``allowed_federations`` set on A is B's setting
in use while B's ports stay its own; a key made in A's soft token is not taken by B
(its private key is not there), and B says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.node import GatewayNode
from gateway.provision import add_member, export_cluster_bundle, import_certificate, join_cluster
from gateway.settings import NodeSettings, with_changes
from trust.protocol import parse_client

from tests.gateway._world import PIN, TAX, free_port
from tests.pgserver import temporary_database

PG_URL = os.environ.get("SILD_TEST_POSTGRES_URL")
COPIED = ("gateway.json", "sign-keys.json", "token", "keys", "certs", "csr")


@pytest.fixture
def pg_database():
    if not PG_URL:
        pytest.skip("no PostgreSQL server for this run")
    with temporary_database(PG_URL, "cl") as url:
        yield url


def _wait(what: Callable[[], Any], seconds: float = 90) -> Any:
    """Poll until ``what()`` is true (a loaded 2-core machine: generous, never a timing assertion)."""
    deadline = time.monotonic() + seconds
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def _primary(world: Any, base: Path, url: str) -> Path:
    source = world.gateway_of(TAX).directory
    target = base / "node-a"
    target.mkdir()
    for name in COPIED:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
        elif (source / name).is_file():
            shutil.copy2(source / name, target / name)
    changes = {"serverconf_url": url, "is_port": free_port(), "peer_port": free_port(), "health_port": free_port(),
               "admin_port": 0, "is_tls_port": 0, "messagelog_url": ""}
    with_changes(NodeSettings.load(target), changes).save(target)
    return target


def _running(world: Any, directory: Path) -> tuple[GatewayNode, Any]:
    from apscheduler.schedulers.background import BackgroundScheduler

    node = GatewayNode(directory, pin=PIN, conf_source=world.conf)
    sched = BackgroundScheduler(timezone=dt.timezone.utc)
    node._schedule_following(sched)  # the node's live check, as `start()` schedules it
    sched.start()
    return node, sched


def test_certificates_anchor_and_settings_changed_on_one_node_reach_the_other_live(world, tmp_path, pg_database):
    a_dir = _primary(world, tmp_path, pg_database)
    b_dir = tmp_path / "node-b"
    b_settings = join_cluster(b_dir, export_cluster_bundle(a_dir, "cluster passphrase"), "cluster passphrase",
                              is_port=free_port(), peer_port=free_port(), health_port=free_port())
    (a, a_sched), (b, b_sched) = _running(world, a_dir), _running(world, b_dir)
    try:
        owner = b.server_id.owner
        old_sign = b.sign_keys[owner].chain[0]
        assert _wait(lambda: a.shared.version > 0 and b.shared.version == a.shared.version)  # both agree

        # a renewed sign certificate of the owner's key, imported on A only
        ca = world.cas["EE"]
        renewed = ca.issue_sign(owner, now=dt.datetime.now(dt.timezone.utc),
                                csr=(a_dir / "csr" / "sign.csr.pem").read_bytes())
        import_certificate(a_dir, renewed.cert.public_bytes(serialization.Encoding.PEM), pin=PIN)
        assert _wait(lambda: b.sign_keys[owner].chain[0] == renewed.cert), "B still signs with its old certificate"
        assert b.sign_keys[owner].chain[0] != old_sign
        assert (b_dir / "certs" / "sign.pem").read_bytes() == (a_dir / "certs" / "sign.pem").read_bytes()

        # an anchor installed on A, and a partner instance allowed on A
        (a_dir / "anchor.xml").write_bytes(b"<anchor>the authority's new anchor</anchor>")
        with_changes(NodeSettings.load(a_dir), {"allowed_federations": "FI", "conf_interval_seconds": 30}).save(a_dir)
        assert _wait(lambda: b.settings.allowed_federations == ("FI",)), "B's setting in use did not follow"
        assert b.settings.conf_interval_seconds == 30
        assert _wait(lambda: (b_dir / "anchor.xml").is_file())
        assert (b_dir / "anchor.xml").read_bytes() == b"<anchor>the authority's new anchor</anchor>"
        mine = NodeSettings.load(b_dir)  # B's own ports and log stayed B's
        assert (mine.is_port, mine.peer_port, mine.health_port) == (b_settings.is_port, b_settings.peer_port,
                                                                      b_settings.health_port)
        assert mine.is_port != NodeSettings.load(a_dir).is_port

        # and back: a setting changed on B reaches A
        with_changes(NodeSettings.load(b_dir), {"timestamp_interval_seconds": 45}).save(b_dir)
        assert _wait(lambda: a.settings.timestamp_interval_seconds == 45), "A did not follow B"
        assert NodeSettings.load(a_dir).is_port != mine.is_port
    finally:
        for sched in (a_sched, b_sched):
            sched.shutdown(wait=True)
        for node in (a, b):
            node.stop()


def test_a_key_made_in_one_node_s_soft_token_is_not_taken_by_the_others(world, tmp_path, pg_database, caplog):
    a_dir = _primary(world, tmp_path, pg_database)
    b_dir = tmp_path / "node-b"
    join_cluster(b_dir, export_cluster_bundle(a_dir, "p"), "p", is_port=free_port(), peer_port=free_port(),
                 health_port=free_port())
    (a, a_sched), (b, b_sched) = _running(world, a_dir), _running(world, b_dir)
    try:
        assert _wait(lambda: a.shared.version > 0 and b.shared.version == a.shared.version)
        before = json.loads((b_dir / "sign-keys.json").read_text()) if (b_dir / "sign-keys.json").exists() else {}
        member = parse_client("EE/COM/12345678")
        add_member(a_dir, member, pin=PIN)  # a new soft key in A's token only
        assert _wait(lambda: bool(b.shared.held)), "B took a key registry naming a key it does not hold"
        key_id = b.shared.held[0]
        assert not (b_dir / "token" / f"{key_id}.key.pem").exists()
        kept = json.loads((b_dir / "sign-keys.json").read_text()) if (b_dir / "sign-keys.json").exists() else {}
        assert kept == before and key_id in json.loads((a_dir / "sign-keys.json").read_text())
        assert "soft-token keys this node does not hold" in caplog.text
        # what B does not hold stays out of the cluster's rows B publishes: A's registry is not reverted
        (a_dir / "anchor.xml").write_bytes(b"<anchor>still shared</anchor>")
        assert _wait(lambda: (b_dir / "anchor.xml").is_file()
                     and (b_dir / "anchor.xml").read_bytes() == b"<anchor>still shared</anchor>")
        assert key_id in json.loads((a_dir / "sign-keys.json").read_text())
    finally:
        for sched in (a_sched, b_sched):
            sched.shutdown(wait=True)
        for node in (a, b):
            node.stop()


def test_a_removed_certificate_goes_everywhere_and_a_setting_a_node_cannot_read_is_not_published_back(
        tmp_path, pg_database, caplog):
    """Two nodes' sides of the sharing on one real database, round by round (what each live check runs)."""
    from sqlalchemy import select, update

    from gateway.db import open_engine, schema
    from gateway.node import SharedFiles
    from gateway.provision import init_gateway
    from trust.keys import KeyType

    a_dir = tmp_path / "a"
    init_gateway(a_dir, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256,
                 settings={"serverconf_url": pg_database, "health_port": free_port()})
    b_dir = tmp_path / "b"
    join_cluster(b_dir, export_cluster_bundle(a_dir, "p"), "p", is_port=free_port(), peer_port=free_port(),
                 health_port=free_port())
    engine = open_engine(pg_database)
    try:
        a, b = SharedFiles(engine, a_dir), SharedFiles(engine, b_dir)
        a.sync(), b.sync()
        (a_dir / "certs" / "extra.pem").write_bytes(b"an imported chain")
        a.sync()
        assert "certs/extra.pem" in b.sync() and (b_dir / "certs" / "extra.pem").read_bytes() == b"an imported chain"
        (a_dir / "certs" / "extra.pem").unlink()  # deleted on A
        a.sync()
        assert "certs/extra.pem" in b.sync() and not (b_dir / "certs" / "extra.pem").exists()

        # a node of another version publishes a setting this one does not know: B keeps its own, publishes nothing
        with engine.begin() as conn:
            row = conn.execute(select(schema.ClusterFile.data).where(schema.ClusterFile.name == "settings.json")).scalar_one()
            odd = json.dumps({**json.loads(row), "a_future_setting": 1}, sort_keys=True).encode()
            conn.execute(update(schema.ClusterFile).where(schema.ClusterFile.name == "settings.json")
                         .values(data=odd, sha256=hashlib.sha256(odd).hexdigest()))
            conn.execute(update(schema.ClusterState).values(version=schema.ClusterState.version + 1))
        before = (b_dir / "gateway.json").read_bytes()
        assert b.sync() == [] and (b_dir / "gateway.json").read_bytes() == before
        assert "the cluster's settings not taken" in caplog.text
        with engine.connect() as conn:
            kept = conn.execute(select(schema.ClusterFile.data).where(schema.ClusterFile.name == "settings.json")).scalar_one()
        assert kept == odd  # not overwritten by B's older idea of the settings
        assert NodeSettings.load(b_dir).peer_port != NodeSettings.load(a_dir).peer_port
    finally:
        engine.dispose()
