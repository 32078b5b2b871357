"""The tracker's key: made once, shared by a cluster's nodes, never plain hashing.

Entries hold a subject as HMAC-SHA-256 under ``DIR/tracker.key``; a node that made a
key of its own would record entries the others can never find again, so the key
travels in the cluster bundle (sealed like the token) and is written 0600.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from gateway.db import open_engine
from gateway.provision import export_cluster_bundle, init_gateway, join_cluster
from gateway.serverconf import ServerConf
from gateway.tracker import KEY_FILE, Tracker
from trust.keys import KeyType

from tests.gateway._world import free_port


def test_the_key_is_made_once_and_a_joining_node_gets_the_primary_s(tmp_path: Path) -> None:
    primary = tmp_path / "primary"
    init_gateway(primary, anchor=None, server="EE/GOV/70000001/gw1", pin="tracker-pin", key_type=KeyType.EC_P256,
                 settings={"is_port": free_port(), "peer_port": free_port(),
                           "serverconf_url": "postgresql+psycopg://sild@db.example:5432/serverconf"})
    conf = ServerConf(open_engine(tmp_path / "sc.db"))
    tracker = Tracker(conf, primary)
    digest = tracker.hashed("010190-123M")
    key = (primary / KEY_FILE).read_bytes()
    assert digest == hmac.new(key, b"010190-123M", hashlib.sha256).hexdigest() != hashlib.sha256(b"010190-123M").hexdigest()
    assert Tracker(conf, primary).hashed("010190-123M") == digest  # read again, not made again
    assert (primary / KEY_FILE).stat().st_mode & 0o077 == 0
    join_cluster(tmp_path / "second", export_cluster_bundle(primary, "pass"), "pass", is_port=free_port(),
                 peer_port=free_port(), health_port=free_port(),
                 messagelog_url="postgresql+psycopg://sild@db.example:5432/log2")
    assert (tmp_path / "second" / KEY_FILE).read_bytes() == key
    assert (tmp_path / "second" / KEY_FILE).stat().st_mode & 0o077 == 0
    assert Tracker(conf, tmp_path / "second").hashed("010190-123M") == digest


def test_the_declared_purpose_and_a_plain_subject_are_recorded_as_given(tmp_path: Path) -> None:
    from sqlalchemy import select

    from gateway.db import schema as m
    from gateway.tracker import SeenRequest, html_report, make_rule, save_rule, text_lines
    from trust.protocol import ServiceId, parse_client

    vero = parse_client("FI/GOV/0245437-2/vero")
    conf = ServerConf(open_engine(tmp_path / "sc.db"))
    save_rule(conf, make_rule(vero, "income", "path", "/{person}", store_plain=True))
    tracker = Tracker(conf, tmp_path, flush_seconds=3600)
    seen = SeenRequest("REST", parse_client("EE/GOV/70000001/tax"), ServiceId("FI", "GOV", "0245437-2", "vero", "income"),
                       "q-1", user_id="EE1", rest_path="/010190-123M/2025")
    tracker.observe(lambda: seen, 7, purpose="tax-assessment")
    tracker.observe(lambda: None, 8)  # a metaservice answered: nothing to record
    assert tracker.flush() == 1
    with conf.read() as s:
        [row] = s.execute(select(m.TrackerEntry)).scalars()
    assert (row.subject, row.hashed, row.purpose, row.log_record_id) == ("010190-123M", False, "tax-assessment", 7)
    [entry] = tracker.entries("010190-123M")
    assert "purpose tax-assessment" in text_lines("010190-123M", [entry])[1]
    assert "<td>tax-assessment</td>" in html_report("010190-123M", "Verohallinto", [entry])
    tracker.close()


def test_a_backup_carries_the_key_so_a_restored_gateway_finds_old_entries(tmp_path: Path) -> None:
    from trust.backup import restore_backup, write_backup

    from gateway.provision import GATEWAY_BACKUP
    from gateway.tracker import SeenRequest, make_rule, save_rule
    from trust.protocol import ServiceId, parse_client

    gw = tmp_path / "gw"
    init_gateway(gw, anchor=None, server="FI/GOV/0245437-2/gw1", pin="tracker-pin", key_type=KeyType.EC_P256,
                 settings={"is_port": free_port(), "peer_port": free_port()})
    vero = parse_client("FI/GOV/0245437-2/vero")
    engine = open_engine(gw / "serverconf.db")
    conf = ServerConf(engine)
    save_rule(conf, make_rule(vero, "income", "path", "/{person}"))
    tracker = Tracker(conf, gw)
    tracker.observe(lambda: SeenRequest("REST", parse_client("EE/GOV/70000001/tax"),
                                        ServiceId("FI", "GOV", "0245437-2", "vero", "income"), "q-9",
                                        rest_path="/010190-123M"), 3)
    tracker.close()
    engine.dispose()
    write_backup(gw, tmp_path / "gw.tar.gz", GATEWAY_BACKUP)
    restore_backup(tmp_path / "gw.tar.gz", tmp_path / "restored", GATEWAY_BACKUP)
    assert (tmp_path / "restored" / KEY_FILE).read_bytes() == (gw / KEY_FILE).read_bytes()
    restored = ServerConf(open_engine(tmp_path / "restored" / "serverconf.db"))
    assert [e.query_id for e in Tracker(restored, tmp_path / "restored").entries("010190-123M")] == ["q-9"]
