"""The backup engine on real SQLite files and real processes: consistency, refusals, atomic restore.

The node here is a directory of a made-up role ("test") whose identity is a file, so
that every rule of the engine is exercised without a gateway; the roles' own
descriptions and the end-to-end runs are tested with the gateway and the authority.
"""

from __future__ import annotations

import gzip
import io
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from trust.backup import BackupDamaged, BackupError, BackupRefused, NodeKind, restore_backup, write_backup

KIND = NodeKind(role="test", identity=lambda d: (d / "identity").read_text(), rebuilt=frozenset({"cache"}),
                keep=frozenset({"cache/mark.json"}))


def _node(path: Path, identity: str = "node-A") -> Path:
    path.mkdir(parents=True)
    (path / "identity").write_text(identity)
    (path / "token").mkdir()
    key = path / "token" / "auth.key"
    key.write_bytes(b"secret key bytes")
    key.chmod(0o600)
    (path / "cache").mkdir()
    (path / "cache" / "downloaded.xml").write_text("<rebuilt/>")
    (path / "cache" / "mark.json").write_text("{}")
    (path / "node.log").write_text("log line\n")
    (path / "node.pid").write_text("123\n")
    (path / ".generate.lock").write_text("")
    return path


def _wal_database(path: Path) -> sqlite3.Connection:
    """A WAL database whose last commits stay in the -wal file (no checkpoint) while the connection is open."""
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE record (id INTEGER PRIMARY KEY, body TEXT)")
    conn.commit()
    return conn


def _rows(path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, body FROM record ORDER BY id").fetchall()
    finally:
        conn.close()


def test_wal_content_written_just_before_the_backup_is_in_it(tmp_path):
    node = _node(tmp_path / "node")
    live = _wal_database(node / "log.db")
    try:
        live.execute("INSERT INTO record (body) VALUES ('written just before')")
        live.commit()
        # the commit is in the WAL only: the database file itself does not hold it yet
        assert (node / "log.db-wal").stat().st_size > 0
        assert b"written just before" not in (node / "log.db").read_bytes()
        manifest = write_backup(node, tmp_path / "b.tar.gz", KIND)
    finally:
        live.close()
    assert {f.path: f.kind for f in manifest.files}["log.db"] == "sqlite"
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        names = tar.getnames()
    assert "node/log.db" in names and not any(n.endswith(("-wal", "-shm")) for n in names)
    restored = tmp_path / "restored"
    restore_backup(tmp_path / "b.tar.gz", restored, KIND)
    assert _rows(restored / "log.db") == [(1, "written just before")]
    assert not (restored / "log.db-wal").exists() and not (restored / "log.db-shm").exists()


def test_a_backup_taken_while_a_writer_commits_is_one_consistent_moment(tmp_path):
    node = _node(tmp_path / "node")
    live = _wal_database(node / "log.db")
    live.execute("CREATE TABLE pair (id INTEGER PRIMARY KEY, half TEXT)")
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1  # each transaction adds one record and two pair rows: a torn copy would break 2:1
            live.execute("INSERT INTO record (body) VALUES (?)", (f"r{n}",))
            live.executemany("INSERT INTO pair (half) VALUES (?)", [("a",), ("b",)])
            live.commit()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.2)
        write_backup(node, tmp_path / "b.tar.gz", KIND)
    finally:
        stop.set()
        writer.join()
        live.close()
    restore_backup(tmp_path / "b.tar.gz", tmp_path / "restored", KIND)
    conn = sqlite3.connect(tmp_path / "restored" / "log.db")
    records, pairs = (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("record", "pair"))
    conn.close()
    assert records > 0 and pairs == 2 * records


def test_state_is_kept_and_what_is_not_state_is_left_out(tmp_path):
    node = _node(tmp_path / "node")
    os.symlink("token/auth.key", node / "current-key")
    manifest = write_backup(node, tmp_path / "b.tar.gz", KIND)
    paths = {f.path for f in manifest.files}
    assert paths == {"identity", "token/auth.key", "current-key", "cache/mark.json"}
    assert manifest.role == "test" and manifest.identity == "node-A" and manifest.created_at.tzinfo is not None
    assert (tmp_path / "b.tar.gz").stat().st_mode & 0o777 == 0o600  # it holds keys
    restore_backup(tmp_path / "b.tar.gz", tmp_path / "restored", KIND)
    restored = tmp_path / "restored"
    assert (restored / "token" / "auth.key").read_bytes() == b"secret key bytes"
    assert (restored / "token" / "auth.key").stat().st_mode & 0o777 == 0o600
    assert os.readlink(restored / "current-key") == "token/auth.key"
    assert [p.name for p in (restored / "cache").iterdir()] == ["mark.json"] and not (restored / "node.log").exists()


def test_the_backup_must_not_be_written_into_the_node(tmp_path):
    node = _node(tmp_path / "node")
    with pytest.raises(BackupError, match="outside the node directory"):
        write_backup(node, node / "b.tar.gz", KIND)


def test_encrypted_backup_round_trip_and_its_refusals(tmp_path):
    node = _node(tmp_path / "node")
    write_backup(node, tmp_path / "b.bak", KIND, passphrase="correct horse")
    data = (tmp_path / "b.bak").read_bytes()
    assert b"secret key bytes" not in data and not data.startswith(b"\x1f\x8b")
    with pytest.raises(BackupRefused, match="encrypted"):
        restore_backup(tmp_path / "b.bak", tmp_path / "r0", KIND)
    with pytest.raises(BackupDamaged, match="wrong passphrase"):
        restore_backup(tmp_path / "b.bak", tmp_path / "r1", KIND, passphrase="wrong horse")
    for name, damaged in [("flipped", data[:300] + bytes([data[300] ^ 1]) + data[301:]),
                          ("cut", data[:-20]), ("extended", data + b"x")]:
        (tmp_path / name).write_bytes(damaged)
        with pytest.raises(BackupDamaged):
            restore_backup(tmp_path / name, tmp_path / f"r-{name}", KIND, passphrase="correct horse")
        assert not (tmp_path / f"r-{name}").exists()
    restore_backup(tmp_path / "b.bak", tmp_path / "restored", KIND, passphrase="correct horse")
    assert (tmp_path / "restored" / "identity").read_text() == "node-A"


def _repack(source: Path, target: Path, change: dict[str, bytes]) -> None:
    """The plain archive ``source`` with the members named in ``change`` given other bytes."""
    out = io.BytesIO()
    with tarfile.open(source) as tar, tarfile.open(fileobj=out, mode="w") as new:
        for member in tar:
            data = tar.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name in change:
                data = change[member.name]
                member.size = len(data)
            new.addfile(member, io.BytesIO(data) if data is not None else None)
    target.write_bytes(gzip.compress(out.getvalue()))


def test_a_file_that_differs_from_the_manifest_is_refused_and_nothing_changes(tmp_path):
    node = _node(tmp_path / "node")
    write_backup(node, tmp_path / "b.tar.gz", KIND)
    _repack(tmp_path / "b.tar.gz", tmp_path / "bad.tar.gz", {"node/token/auth.key": b"another key"})
    (node / "token" / "auth.key").write_bytes(b"current key")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(BackupDamaged, match="token/auth.key"):
        restore_backup(tmp_path / "bad.tar.gz", node, KIND)
    assert (node / "token" / "auth.key").read_bytes() == b"current key"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no staging directory left behind


def test_another_identity_is_refused_unless_forced_and_another_role_always(tmp_path):
    write_backup(_node(tmp_path / "a", "node-A"), tmp_path / "a.tar.gz", KIND)
    other = _node(tmp_path / "b", "node-B")
    with pytest.raises(BackupRefused, match="node-A.*node-B.*--force"):
        restore_backup(tmp_path / "a.tar.gz", other, KIND)
    assert (other / "identity").read_text() == "node-B"
    (tmp_path / "stranger").mkdir()
    (tmp_path / "stranger" / "notes.txt").write_text("not a node")
    with pytest.raises(BackupRefused, match="not a test"):
        restore_backup(tmp_path / "a.tar.gz", tmp_path / "stranger", KIND)
    restored = restore_backup(tmp_path / "a.tar.gz", other, KIND, force=True)
    assert (other / "identity").read_text() == "node-A"
    # what was replaced is kept, never deleted: it may hold evidence made since the backup
    assert restored.replaced is not None and restored.replaced.parent == tmp_path
    assert restored.replaced.name.startswith("b.replaced-") and (restored.replaced / "identity").read_text() == "node-B"
    assert restore_backup(tmp_path / "a.tar.gz", tmp_path / "fresh", KIND).replaced is None
    with pytest.raises(BackupRefused, match="backup of a test, not of a gateway"):
        restore_backup(tmp_path / "a.tar.gz", tmp_path / "c", NodeKind("gateway", KIND.identity), force=True)


_LISTEN = ("import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen();"
           "open(sys.argv[-1] + '.port', 'w').write(str(s.getsockname()[1])); time.sleep(60)")


def test_restore_is_refused_while_the_node_runs(tmp_path):
    node = _node(tmp_path / "node")
    write_backup(node, tmp_path / "b.tar.gz", KIND)
    (node / "identity").write_text("node-A")
    server = subprocess.Popen([sys.executable, "-c", _LISTEN, "sild", "test", "serve", str(node)])
    try:
        for _ in range(100):
            if Path(f"{node}.port").exists():
                break
            time.sleep(0.05)
        with pytest.raises(BackupRefused, match=f"running \\(pid {server.pid}\\)"):
            restore_backup(tmp_path / "b.tar.gz", node, KIND)
        port = int(Path(f"{node}.port").read_text())
        by_port = NodeKind("test", KIND.identity, ports=lambda _d: [("127.0.0.1", port)])
        with pytest.raises(BackupRefused, match=f"listens on 127.0.0.1:{port}"):
            restore_backup(tmp_path / "b.tar.gz", tmp_path / "elsewhere", by_port)
    finally:
        server.kill()
        server.wait()
    restore_backup(tmp_path / "b.tar.gz", node, KIND)


def test_postgresql_without_its_tools_is_refused_clearly(tmp_path, monkeypatch):
    node = _node(tmp_path / "node")
    kind = NodeKind("test", KIND.identity, server_databases=lambda _d: {"registry": "postgresql://u:pw@db/x"})
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump is not installed"):
        write_backup(node, tmp_path / "b.tar.gz", kind)
    assert not (tmp_path / "b.tar.gz").exists() and [p.name for p in tmp_path.iterdir()] == ["node"]


def test_an_unknown_format_version_is_refused(tmp_path):
    node = _node(tmp_path / "node")
    write_backup(node, tmp_path / "b.tar.gz", KIND)
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        manifest = tar.extractfile("manifest.json").read()  # type: ignore[union-attr]
    _repack(tmp_path / "b.tar.gz", tmp_path / "v9.tar.gz", {"manifest.json": manifest.replace(b'"version": 1', b'"version": 9')})
    with pytest.raises(BackupRefused, match="version 9"):
        restore_backup(tmp_path / "v9.tar.gz", tmp_path / "r", KIND)


@pytest.mark.parametrize("damage", ["random", "half", "tail cut", "empty"])
def test_a_damaged_plain_archive_is_refused_in_one_line(tmp_path, damage):
    node = _node(tmp_path / "node")
    (node / "big").write_bytes(os.urandom(200_000))
    write_backup(node, tmp_path / "b.tar.gz", KIND)
    data = (tmp_path / "b.tar.gz").read_bytes()
    bad = {"random": os.urandom(5000), "half": data[: len(data) // 2], "tail cut": data[:-30], "empty": b""}[damage]
    (tmp_path / "bad.tar.gz").write_bytes(bad)
    with pytest.raises(BackupDamaged, match="is not a readable sild backup") as caught:
        restore_backup(tmp_path / "bad.tar.gz", tmp_path / "restored", KIND)
    assert "\n" not in str(caught.value) and not (tmp_path / "restored").exists()
    with pytest.raises(BackupError, match="cannot read backup"):
        restore_backup(tmp_path / "missing.tar.gz", tmp_path / "restored", KIND)


def test_an_sqlite_database_outside_the_directory_is_refused_clearly(tmp_path):
    node = _node(tmp_path / "node")
    sqlite3.connect(node / "inside.db").close()
    inside = NodeKind("test", KIND.identity, server_databases=lambda _d: {"log": f"sqlite:///{node}/inside.db"})
    assert "inside.db" in {f.path for f in write_backup(node, tmp_path / "a.tar.gz", inside).files}
    kind = NodeKind("test", KIND.identity, server_databases=lambda _d: {"log": f"sqlite:///{tmp_path}/elsewhere.db"})
    with pytest.raises(BackupError, match="elsewhere.db lies outside the node directory"):
        write_backup(node, tmp_path / "b.tar.gz", kind)


def test_a_drill_restores_a_marked_copy_while_the_node_listens_and_keeps_every_check(tmp_path):
    import socket

    from trust.backup import DRILL_MARKER, refuse_drill_copy

    node = _node(tmp_path / "node")
    conn = _wal_database(node / "state.db")
    conn.execute("INSERT INTO record (body) VALUES ('kept')")
    conn.commit()
    with socket.socket() as live:
        live.bind(("127.0.0.1", 0))
        live.listen()
        port = live.getsockname()[1]
        kind = NodeKind("test", KIND.identity, ports=lambda _d: [("127.0.0.1", port)],
                        describe=lambda d: [f"identity {(d / 'identity').read_text()}"])
        write_backup(node, tmp_path / "b.tar.gz", kind)
        with pytest.raises(BackupRefused, match=f"listens on 127.0.0.1:{port}.*--drill"):
            restore_backup(tmp_path / "b.tar.gz", tmp_path / "plain", kind)
        assert not (tmp_path / "plain").exists()
        drilled = restore_backup(tmp_path / "b.tar.gz", tmp_path / "copy", kind, drill=True)
        # the copy's files are the backup's, checked; only the marker is added
        assert drilled.drill and drilled.replaced is None and drilled.holds == ("identity node-A",)
        assert _rows(tmp_path / "copy" / "state.db") == [(1, "kept")]
        assert (tmp_path / "copy" / "token" / "auth.key").read_bytes() == b"secret key bytes"
        with pytest.raises(BackupRefused, match="restore drill's copy.*stop the original and remove"):
            refuse_drill_copy(tmp_path / "copy", kind)
        refuse_drill_copy(node, kind)  # the live node is not a copy
        # a drill goes only into a new or empty directory: never over the live node or an earlier drill
        for occupied in (node, tmp_path / "copy"):
            with pytest.raises(BackupRefused, match="new or empty directory"):
                restore_backup(tmp_path / "b.tar.gz", occupied, kind, drill=True)
        _repack(tmp_path / "b.tar.gz", tmp_path / "bad.tar.gz", {"node/token/auth.key": b"another key"})
        with pytest.raises(BackupDamaged, match="token/auth.key"):
            restore_backup(tmp_path / "bad.tar.gz", tmp_path / "copy2", kind, drill=True)
        assert not (tmp_path / "copy2").exists()
    conn.close()
    (tmp_path / "copy" / DRILL_MARKER).unlink()  # what the refusal tells the operator to do
    refuse_drill_copy(tmp_path / "copy", kind)
